//! The reference model: an executable description of what Linux does with the ops of a case.
//!
//! The state is split by concern:
//! - `tasks`: the task tree (fork, exit, wait, reparenting to the lab's subreaper);
//! - `memory`: VMAs, page tables and physical frames of the four regions (copy-on-write,
//!   the zero page, fault-around, `madvise`);
//! - `files`: inodes, pipes, open file descriptions and fd tables;
//! - `locks`: fcntl record locks (process and open-file-description owned) and flock locks.
//!
//! Every op is predicted and applied by [`Model::step`]; [`Model::snapshot`] renders the state
//! in the canonical form of [`Snapshot`]. The model never panics, whatever the op sequence:
//! ops by tasks that do not exist or cannot run answer `ESRCH` and change nothing.

mod altstack;
mod clone;
mod context;
mod exec;
mod files;
mod groups;
mod inherit;
#[cfg(test)]
mod inherit_tests;
mod locks;
mod mappings;
#[cfg(test)]
mod mappings_tests;
mod memory;
#[cfg(test)]
mod memory_tests;
mod mlock;
#[cfg(test)]
mod mlock_tests;
mod pidfd;
mod pidns;
#[cfg(test)]
mod pidns_tests;
#[cfg(test)]
mod release_tests;
mod remap;
#[cfg(test)]
mod remap_tests;
mod sched;
mod security;
mod setns;
#[cfg(test)]
mod setns_tests;
mod signals;
mod stop;
mod tasks;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_groups;
mod timers;
mod unshare;
#[cfg(test)]
mod version_tests;
mod wait;
#[cfg(test)]
mod wait_tests;

use crate::obs::{
    Errno, ExitStatus, Frame, FsView, NsClasses, Outcome, Page, Parent, RegionView, Sharing,
    SigSet, Signal, SignalView, Snapshot, TaskState, TaskView,
};
use crate::op::{CaseConfig, Op, OpKind, Region, TaskId, MAX_PAGES};
use crate::profile::Profile;

use files::Files;
use memory::Memory;
use tasks::Task;

pub use clone::{decode as decode_clone, Decoded as DecodedClone};
pub use files::{EXT4_MAX_BYTES, NOFILE, PIPE_BUFFERS, TMPFS_MAX_BYTES};
pub use memory::{FAULT_AROUND_PAGES, REGION_STRIDE_PAGES};
pub use tasks::MAX_TASKS;

/// What the model says about one op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Every outcome Linux may produce (usually exactly one).
    pub allowed: Vec<Outcome>,
    /// The outcome the model's state followed: the observed one when it is allowed, else the
    /// first allowed.
    pub taken: Outcome,
}

pub use crate::profile::CaseFs;

/// The executable reference model of one case.
///
/// Set-up mirrors what the lab does before the first op: `t0` is alive, its parent is the
/// lab's subreaper, it has no fds below 1024, the case directory holds `data` (`pages` pages
/// of [`crate::op::data_file_byte`], all in the page cache because the lab wrote it with
/// `write(2)`), and the four regions are mapped by `t0`, one VMA each, nothing touched.
#[derive(Clone, Debug)]
pub struct Model {
    config: CaseConfig,
    /// Every task ever created, indexed by label (reaped ones are kept, flagged).
    tasks: Vec<Task>,
    /// Address spaces, indexed by `Task::mm` (CLONE_VM shares one).
    mms: Vec<memory::Mm>,
    /// fd tables, indexed by `Task::files` (CLONE_FILES shares one).
    fdts: Vec<files::FdTable>,
    /// Last class id handed out for fs, sighand and sysvsem objects.
    next_class: u64,
    /// Last pid namespace id handed out (0 is the lab's).
    next_pidns: u32,
    /// The parent namespace of every pid namespace created.
    pidns_parent: std::collections::BTreeMap<u32, u32>,
    /// The user namespace owning each pid namespace a user namespace of the case owns (made
    /// by a clone with CLONE_NEWUSER, or by a task inside such a namespace); absent: the
    /// lab's user namespace.
    pidns_owner: std::collections::BTreeMap<u32, u32>,
    /// The user namespace owning each ipc, mnt, net, cgroup and time namespace the case made
    /// (by `Namespaces` id); absent: the lab's user namespace.
    ns_owner: std::collections::BTreeMap<u32, u32>,
    /// Pid namespaces made by `unshare(CLONE_NEWPID)` that no task was born in yet.
    pidns_empty: std::collections::BTreeSet<u32>,
    /// Pid namespaces that take no more tasks (`PIDNS_ADDING` cleared): their init died, or
    /// the first fork into one failed after its pid was allocated.
    pidns_dead: std::collections::BTreeSet<u32>,
    /// The task that got pid 1 of each pid namespace the case made.
    pidns_init: std::collections::BTreeMap<u32, TaskId>,
    /// Dispositions per sighand class (absent: every signal at `SIG_DFL`).
    sighands: std::collections::BTreeMap<u64, signals::Dispositions>,
    /// cwd and umask per fs class (absent: the initial context).
    fs_contexts: std::collections::BTreeMap<u64, context::FsContext>,
    /// UTS namespaces, indexed by `Namespaces::uts` (0 is the lab's).
    uts: Vec<context::Uts>,
    /// Last namespace id handed out (user, ipc, mnt, net, cgroup, time).
    next_ns: u32,
    /// The environment.
    profile: Profile,
    /// The child of a vfork-like op being applied: its caller blocks once the op is done.
    pending_vfork: Option<TaskId>,
    /// Physical frames, the shmem object and the page cache of `data`.
    mem: Memory,
    /// Inodes, pipes and open file descriptions.
    files: Files,
    /// The case directory's filesystem.
    case_fs: CaseFs,
    /// What the op being applied blocks on, when it answers Blocked.
    pending_block: Option<tasks::BlockedOp>,
    /// Thread groups whose child-wait queue was woken during the op being applied
    /// (`__wake_up_parent` from `do_notify_parent` and `do_notify_parent_cldstop`): only
    /// their blocked waits look again for an eligible child.
    woken_parents: Vec<TaskId>,
    /// Outcomes the op being applied may also have, besides the one it returns.
    also_allowed: Vec<Outcome>,
    /// The outcome the implementation gave for the op being applied, when known. Only an op
    /// whose allowed outcomes change the state differently reads it, to follow the one the
    /// implementation took among those the model allows (never to decide what is allowed).
    observed: Option<Outcome>,
    /// The live processes (thread group ids) sent a parent-death signal (and which) while
    /// the op was applied.
    pdeath_sent: Vec<(TaskId, i32)>,
    /// Parent-death signals to send (thread, signal, forced) once the op's own are sent.
    pdeath_queue: Vec<(TaskId, i32, bool)>,
}

impl Model {
    /// A fresh case: `t0` alive with the four regions mapped and nothing touched, fds empty,
    /// the case directory on tmpfs (what the lab uses when `/dev/shm` is writable).
    ///
    /// `pages` above [`MAX_PAGES`] is clamped to it. The profile is accepted for future
    /// environment-dependent predictions; so far only its `case_fs` matters (the model
    /// assumes 4 KiB pages, as [`crate::op::PAGE_SIZE`] does).
    pub fn new(config: CaseConfig, profile: &Profile) -> Model {
        Model::with_case_fs(config, profile, profile.case_fs)
    }

    // rule: mem.ext4-large-folios-since-6.16
    /// A fresh case whose directory lives on `case_fs`.
    pub fn with_case_fs(config: CaseConfig, profile: &Profile, case_fs: CaseFs) -> Model {
        let pages = u64::from(config.pages.min(MAX_PAGES));
        let mut mem = Memory::new(case_fs == CaseFs::Tmpfs);
        // AnonShared's shmem object (0) is as long as the region.
        mem.set_shm_pages(0, pages);
        let max_bytes = match case_fs {
            CaseFs::Tmpfs => TMPFS_MAX_BYTES,
            CaseFs::Ext4 => EXT4_MAX_BYTES,
        };
        let files = Files::new(pages * crate::op::PAGE_SIZE, max_bytes);
        // The lab wrote `data` with one write(2): its pages are in the page cache already.
        // ext4 caches regular files in large folios since Linux 6.16 (commit 7ac67301e82f
        // "ext4: enable large folio for regular file"); before, in order-0 folios, one page
        // each, as tmpfs does (its fault rules stay the ext4 ones: i_size limits fault-around).
        let large_folios = case_fs == CaseFs::Ext4 && profile.kernel_at_least(6, 16);
        mem.cache_written_file(pages, large_folios);
        let mut t0 = Task::root();
        // What the lab's runner set before the case: t0 inherits it from the lab.
        t0.no_new_privs = profile.no_new_privs;
        if profile.seccomp_filter {
            t0.seccomp.push(None);
        }
        t0.sched = sched::TaskSched::start(profile);
        t0.rlimits = sched::Rlimits::start(profile);
        Model {
            config,
            tasks: vec![t0],
            mms: vec![memory::Mm::case_setup(
                pages,
                !profile.regions_without_thp_advice,
            )],
            fdts: vec![files::FdTable::new()],
            next_class: 0,
            next_pidns: 0,
            pidns_parent: Default::default(),
            pidns_owner: Default::default(),
            ns_owner: Default::default(),
            pidns_empty: Default::default(),
            pidns_dead: Default::default(),
            pidns_init: Default::default(),
            sighands: Default::default(),
            fs_contexts: Default::default(),
            uts: vec![context::Uts {
                name: None,
                owner: 0,
            }],
            next_ns: 0,
            profile: profile.clone(),
            pending_vfork: None,
            mem,
            files,
            case_fs,
            pending_block: None,
            woken_parents: Vec::new(),
            also_allowed: Vec::new(),
            observed: None,
            pdeath_sent: Vec::new(),
            pdeath_queue: Vec::new(),
        }
    }

    /// Whether task `t` is in the lab's own UTS namespace (where `sethostname` would rename
    /// the machine): true as well for a label that does not exist.
    pub fn in_lab_uts(&self, t: TaskId) -> bool {
        self.tasks.get(t as usize).is_none_or(|x| x.ns.uts == 0)
    }

    /// The task pidfd `fd` of task `t` refers to (its `struct pid`'s task, reaped or not),
    /// or `None` when `fd` is no pidfd of `t`: for generators that pick ops by target.
    pub fn pidfd_task(&self, t: TaskId, fd: crate::op::Fd) -> Option<TaskId> {
        let slot = self.fdts.get(self.tasks.get(t as usize)?.files)?.get(&fd)?;
        self.files.pidfd_ref(slot.ofd).map(|r| r.task)
    }

    /// Whether task `t` is the init of a pid namespace (the child of a `CLONE_NEWPID`
    /// clone, or a thread its role passed to).
    pub fn is_pid_namespace_init(&self, t: TaskId) -> bool {
        self.tasks.get(t as usize).is_some_and(|x| x.ns_init)
    }

    /// The configuration.
    pub fn config(&self) -> CaseConfig {
        self.config
    }

    /// Predicts `op` and advances the state.
    ///
    /// `taken` is `observed` when it is one of the allowed outcomes, else the first allowed
    /// one; the state follows `taken`. Ops have one allowed outcome except where Linux's
    /// answer depends on something the model does not know (see `lock_owner`, and a legacy
    /// clone with an invalid exit signal on kernels that may carry a stable backport); the
    /// latter is the only op whose outcomes change the state differently, and its state
    /// follows `taken` too.
    pub fn step(&mut self, op: &Op, observed: Option<&Outcome>) -> Step {
        self.also_allowed.clear();
        self.woken_parents.clear();
        self.observed = observed.cloned();
        let outcome = self.apply(op);
        self.observed = None;
        let mut allowed = vec![outcome];
        allowed.append(&mut self.also_allowed);
        let taken = match observed {
            Some(o) if allowed.contains(o) => o.clone(),
            _ => allowed[0].clone(),
        };
        Step { allowed, taken }
    }

    /// The canonical snapshot of the current state, with every observation filled in.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot::default();
        for (label, task) in self.tasks.iter().enumerate() {
            if task.reaped {
                continue;
            }
            snap.tasks.push(self.task_view(label as TaskId, task));
        }
        self.files.snapshot_into(&mut snap);
        self.lock_views(&mut snap);
        snap.canonicalize();
        snap
    }

    fn task_view(&self, label: TaskId, task: &Task) -> TaskView {
        let id = u64::from(label);
        let zombie = matches!(task.state, TaskState::Zombie(_));
        let _ = id;
        let sharing = (!zombie).then_some(Sharing {
            // Class ids: the index of the mm / fd table, the fs and sighand class.
            vm: Some(task.mm as u64),
            files: Some(task.files as u64),
            fs: Some(task.fs),
            sighand: Some(task.sighand),
            // kcmp(KCMP_IO / KCMP_SYSVSEM) compares task->io_context and
            // task->sysvsem.undo_list; both stay NULL for tasks that never set an I/O
            // priority or used SEM_UNDO, and NULL == NULL reads as shared
            // (kernel/kcmp.c: kcmp_ptr). CLONE_IO shares a NULL io_context as NULL
            // (block/blk-ioc.c: copy_io); CLONE_SYSVSEM allocates an undo list
            // (ipc/sem.c: copy_semundo → get_undo_list).
            io: Some(0),
            sysvsem: Some(task.sysvsem),
        });
        let fds = if zombie {
            Vec::new()
        } else {
            Files::fd_entries(&self.fdts[task.files])
        };
        let memory = if zombie {
            Vec::new()
        } else {
            let pages = self.config.pages.min(MAX_PAGES);
            Region::ALL
                .iter()
                .map(|&region| RegionView {
                    region,
                    pages: (0..pages)
                        .map(|p| self.page_view(&self.mms[task.mm], region, p))
                        .collect(),
                })
                .collect()
        };
        let signals = (!zombie).then(|| {
            let d = self.dispositions(label);
            SignalView {
                blocked: SigSet(task.blocked),
                ignored: SigSet(d.ignored),
                caught: SigSet(d.caught),
                pending: SigSet(task.pending),
                shared_pending: SigSet(self.tasks[task.tgid as usize].shared_pending),
                asked_pending: None,
                unknown: SigSet::EMPTY,
            }
        });
        let fs_context = (!zombie).then(|| {
            let c = self.fs_context(label);
            FsView {
                cwd: c.cwd,
                umask: c.umask,
            }
        });
        let namespaces = (!zombie).then_some(NsClasses {
            uts: u64::from(task.ns.uts),
            pid: u64::from(task.pidns),
            user: u64::from(task.ns.user),
            mnt: u64::from(task.ns.mnt),
            ipc: u64::from(task.ns.ipc),
            net: u64::from(task.ns.net),
            cgroup: u64::from(task.ns.cgroup),
            time: u64::from(task.ns.time),
        });
        let group = (!zombie).then(|| crate::obs::GroupView {
            pgrp: self.pid_ref(label, self.pgrp_of(label)),
            session: self.pid_ref(label, self.session_of(label)),
        });
        TaskView {
            task: label,
            // /proc/PID/status PPid is the thread group of the parent thread
            // (task_tgid_nr_ns(real_parent)): a child of a thread shows its group's leader.
            // A thread's parent is its group's (copy_process gives CLONE_THREAD children the
            // caller's real_parent, and forget_original_parent moves every thread).
            parent: match self.tasks[task.tgid as usize].parent {
                Parent::Task(p) => Parent::Task(self.tasks[p as usize].tgid),
                Parent::Reaper => Parent::Reaper,
            },
            state: if task.alive() && self.group_stopped(label) {
                TaskState::Stopped
            } else {
                task.state
            },
            exit_signal: Some(Signal(task.exit_signal)),
            sharing,
            thread_of: (task.tgid != label).then_some(task.tgid),
            fds,
            memory,
            tid_words: if zombie {
                Vec::new()
            } else {
                self.mms[task.mm]
                    .tid_words
                    .iter()
                    .map(|(&(child, word), &value)| crate::obs::TidEntry { child, word, value })
                    .collect()
            },
            signals,
            fs_context,
            namespaces,
            group,
        }
    }

    fn page_view(&self, mm: &memory::Mm, region: Region, page: u32) -> Page {
        let gp = memory::global_page(region, page);
        let mapped = mm.vma_at(gp).is_some();
        match mm.pte(gp) {
            None => Page {
                mapped,
                present: false,
                exclusive: false,
                value: None,
                frame: None,
            },
            Some(memory::Pte::Zero) => Page {
                mapped,
                present: true,
                // The zero page is not a "normal" page (vm_normal_page returns NULL), so
                // pagemap never sets PM_MMAP_EXCLUSIVE for it (fs/proc/task_mmu.c).
                exclusive: false,
                value: Some(0),
                frame: Some(Frame::Zero),
            },
            Some(memory::Pte::Frame(f)) => Page {
                mapped,
                present: true,
                // pagemap bit 56: folio_precise_page_mapcount(folio, page) == 1 with
                // CONFIG_PAGE_MAPCOUNT=y (fs/proc/task_mmu.c: pte_to_pagemap_entry).
                exclusive: self.mem.mapcount(f) == 1,
                value: Some(self.frame_byte(f)),
                frame: Some(Frame::Class(f)),
            },
        }
    }

    /// Byte 0 of a frame: anonymous and shmem frames carry it, page-cache frames show the
    /// current content of the file.
    fn frame_byte(&self, f: memory::FrameId) -> u8 {
        match self.mem.kind(f) {
            Some(memory::FrameKind::PageCache { page }) => self
                .files
                .data_byte(page.saturating_mul(crate::op::PAGE_SIZE)),
            _ => self.mem.byte(f),
        }
    }

    /// Whether `t` names a task that can run an op (exists, not reaped, Live).
    fn runnable(&self, t: TaskId) -> bool {
        self.tasks
            .get(t as usize)
            .is_some_and(|task| !task.reaped && task.state == TaskState::Live)
            && !self.group_stopped(t)
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let t = op.task;
        self.pdeath_sent.clear();
        if !self.runnable(t) {
            // Harness convention (shared with the lab): an op by a task that does not exist,
            // is a zombie, was reaped or is blocked in an earlier op answers ESRCH.
            return Outcome::Err(Errno::ESRCH);
        }
        let alive = self.alive_count();
        let outcome = match &op.kind {
            OpKind::Fork => self.op_fork(t),
            OpKind::Exit { code, thread } => {
                let status = ExitStatus::Exited((*code & 0xff) as u8);
                if *thread {
                    self.terminate(t, status);
                } else {
                    self.exit_group(t, status);
                }
                Outcome::Exited
            }
            OpKind::Vfork => self.op_vfork(t),
            OpKind::Clone(c) => self.op_clone(t, c),
            OpKind::Exec => self.op_exec(t),
            OpKind::Wait { target, options } => self.op_wait(t, *target, *options),
            OpKind::MemRead { region, page } => self.op_mem(t, *region, *page, None),
            OpKind::MemWrite { region, page, byte } => self.op_mem(t, *region, *page, Some(*byte)),
            OpKind::Madvise {
                region,
                first,
                count,
                advice,
            } => self.op_madvise(t, *region, *first, *count, *advice),
            OpKind::Mmap {
                first,
                count,
                map,
                prot,
                locked,
            } => self.op_mmap(t, *first, *count, *map, *prot, *locked),
            OpKind::Mlock {
                region,
                first,
                count,
                flags,
            } => self.op_mlock(t, *region, *first, *count, *flags),
            OpKind::Munlock {
                region,
                first,
                count,
            } => self.op_munlock(t, *region, *first, *count),
            OpKind::Mlockall { flags } => self.op_mlockall(t, *flags),
            OpKind::Munlockall => self.op_munlockall(t),
            OpKind::Munmap { first, count } => self.op_munmap(t, *first, *count),
            OpKind::Mprotect { first, count, prot } => self.op_mprotect(t, *first, *count, *prot),
            OpKind::Mremap {
                region,
                first,
                count,
                new_count,
                to,
                unaligned,
            } => self.op_mremap(
                t,
                remap::Remap {
                    region: *region,
                    first: *first,
                    count: *count,
                    new_count: *new_count,
                    to: *to,
                    unaligned: *unaligned,
                },
            ),
            OpKind::Open { file, flags } => self.op_open(t, *file, *flags),
            OpKind::Close { fd } => self.op_close(t, *fd),
            OpKind::Dup { fd } => self.op_dup(t, *fd),
            OpKind::Dup2 { old, new } => self.op_dup2(t, *old, *new),
            OpKind::Dup3 { old, new, cloexec } => self.op_dup3(t, *old, *new, *cloexec),
            OpKind::Read { fd, len } => self.op_read(t, *fd, *len, None),
            OpKind::Write { fd, data } => self.op_write(t, *fd, data, None),
            OpKind::Pread { fd, len, offset } => self.op_read(t, *fd, *len, Some(*offset)),
            OpKind::Pwrite { fd, data, offset } => self.op_write(t, *fd, data, Some(*offset)),
            OpKind::Lseek { fd, offset, whence } => self.op_lseek(t, *fd, *offset, *whence),
            OpKind::Fcntl { fd, cmd } => self.op_fcntl(t, *fd, *cmd),
            OpKind::Pipe2 { cloexec, nonblock } => self.op_pipe2(t, *cloexec, *nonblock),
            OpKind::Ftruncate { fd, len } => self.op_ftruncate(t, *fd, *len),
            OpKind::Flock { fd, op, nonblock } => self.op_flock_fd(t, *fd, *op, *nonblock),
            OpKind::Kill { target, sig } => self.op_kill(t, *target, *sig),
            OpKind::Sigaction { sig, action, flags } => self.op_sigaction(t, *sig, *action, *flags),
            OpKind::Sigprocmask { how, set } => self.op_sigprocmask(t, *how, set),
            OpKind::Chdir { dir } => self.op_chdir(t, *dir),
            OpKind::Umask { mask } => self.op_umask(t, *mask),
            OpKind::Sethostname { name } => self.op_sethostname(t, *name),
            OpKind::Uname => self.op_uname(t),
            OpKind::Waitid { target, options } => self.op_waitid(t, *target, *options),
            OpKind::Prctl { option, arg } => self.op_prctl(t, *option, *arg),
            OpKind::Sigaltstack { set } => self.op_sigaltstack(t, *set),
            OpKind::Setpriority { nice } => self.op_setpriority(t, *nice),
            OpKind::Getpriority => self.op_getpriority(t),
            OpKind::SchedSetscheduler { policy, priority } => {
                self.op_sched_setscheduler(t, *policy, *priority)
            }
            OpKind::SchedGetscheduler => self.op_sched_getscheduler(t),
            OpKind::Personality { persona } => self.op_personality(t, *persona),
            OpKind::SchedSetaffinity { cpus } => self.op_sched_setaffinity(t, *cpus),
            OpKind::SchedGetaffinity => self.op_sched_getaffinity(t),
            OpKind::Prlimit {
                resource,
                set,
                no_old,
            } => self.op_prlimit(t, *resource, *set, *no_old),
            OpKind::Seccomp { errno } => self.op_seccomp(t, *errno),
            OpKind::CloseRange {
                first,
                last,
                cloexec,
                unshare,
            } => self.op_close_range(t, *first, *last, *cloexec, *unshare),
            OpKind::Unshare { flags } => self.op_unshare(t, *flags),
            OpKind::Setns { fd, flags } => self.op_setns(t, *fd, *flags),
            OpKind::Setpgid { target, pgid } => self.op_setpgid(t, *target, *pgid),
            OpKind::Getpgid { target } => self.op_getpgid(t, *target, false),
            OpKind::Setsid => self.op_setsid(t),
            OpKind::Getsid { target } => self.op_getpgid(t, *target, true),
            OpKind::KillPgrp { pgid, sig } => self.op_kill_pgrp(t, *pgid, *sig),
            OpKind::PidfdOpen {
                target,
                nonblock,
                thread,
            } => self.op_pidfd_open(t, *target, *nonblock, *thread),
            OpKind::PidfdSendSignal { fd, sig } => self.op_pidfd_send_signal(t, *fd, *sig),
            OpKind::PidfdGetfd { pidfd, fd } => self.op_pidfd_getfd(t, *pidfd, *fd),
            OpKind::Poll { fd } => self.op_poll(t, *fd),
            OpKind::Setitimer {
                which,
                value_s,
                interval_s,
            } => self.op_setitimer(t, *which, *value_s, *interval_s),
            OpKind::Getitimer { which } => self.op_getitimer(t, *which),
            OpKind::Alarm { seconds } => self.op_alarm(t, *seconds),
            OpKind::TimerCreate { clock, notify } => self.op_timer_create(t, *clock, *notify),
            OpKind::TimerSettime {
                timer,
                value_s,
                interval_s,
            } => self.op_timer_settime(t, *timer, *value_s, *interval_s),
            OpKind::TimerGettime { timer } => self.op_timer_gettime(t, *timer),
            OpKind::TimerDelete { timer } => self.op_timer_delete(t, *timer),
        };
        let outcome = match outcome {
            Outcome::Killed(sig) if sig == Signal::SIGSEGV || sig == Signal::SIGBUS => {
                self.force_fault(t, sig)
            }
            o => o,
        };
        let block = self.pending_block.take();
        if let Some(c) = self.pending_vfork.take() {
            self.vfork_block(t, c);
        }
        match outcome {
            Outcome::Killed(sig) => self.exit_group(t, ExitStatus::Signaled(sig)),
            Outcome::Blocked => {
                let task = &mut self.tasks[t as usize];
                task.state = TaskState::Blocked;
                task.blocked_on = block;
            }
            _ => {}
        }
        self.settle();
        // A signal the op raised for its own task (kill of its own group, SIGPIPE, an
        // unblocked pending signal) is delivered before the call returns to the program.
        //
        // A parent-death signal is another matter: the parent's death that sends it runs in
        // the parent, after the op woke or signalled it, while the caller returns (kill(2)
        // returns once the signal is queued). The call's own answer is expected; a death
        // before it returns is allowed.
        let outcome = match (&outcome, self.tasks[t as usize].state) {
            (Outcome::Ret(_) | Outcome::Err(_), TaskState::Zombie(ExitStatus::Signaled(sig)))
                if self
                    .pdeath_sent
                    .contains(&(self.tasks[t as usize].tgid, sig.0)) =>
            {
                self.also_allowed.push(Outcome::Killed(sig));
                outcome
            }
            (Outcome::Ret(_) | Outcome::Err(_), TaskState::Zombie(ExitStatus::Signaled(sig))) => {
                Outcome::Killed(sig)
            }
            _ => outcome,
        };
        // OFDs and inodes nobody refers to any more are dropped. Only an op that can remove an
        // fd or end a task can make one unreferenced, so the others skip the walk over every
        // fd table (most steps are memory and I/O ops).
        if !keeps_every_fd(&op.kind)
            || matches!(outcome, Outcome::Killed(_))
            || alive != self.alive_count()
        {
            self.collect_garbage();
            // The last reference to a description going releases its flock and OFD locks
            // (fs/locks.c: locks_remove_file from __fput), which wakes their waiters
            // (locks_wake_up_blocks): a flock behind a lock whose fd was closed gets it now.
            if self.tasks.iter().any(|t| t.state == TaskState::Blocked) {
                self.settle();
            }
        } else {
            // Debug builds (every suite run) check that skipping dropped nothing.
            debug_assert!(
                self.files.has_no_garbage(
                    &tasks::live_fd_tables(&self.tasks, &self.fdts),
                    &tasks::in_flight_ofds(self)
                ),
                "{op}: left an unreferenced OFD or inode behind"
            );
        }
        outcome
    }

    /// Wakes blocked tasks and delivers signals until nothing changes: a death can wake a
    /// waiter or a pipe reader and send an exit signal; a woken writer can get SIGPIPE.
    fn settle(&mut self) {
        loop {
            let sent = self.flush_pdeath_signals();
            // A call that completed lets go of its description (rule
            // fd.blocked-call-holds-its-description): when no fd refers to it any more, it
            // goes now, with its pipe end and its locks, which can wake others.
            let released = self.wake_blocked() && self.collect_garbage();
            if !self.deliver_signals() && !sent && !released && self.pdeath_queue.is_empty() {
                break;
            }
        }
    }

    /// Drops the descriptions and inodes nothing refers to; returns whether it dropped any.
    fn collect_garbage(&mut self) -> bool {
        let held = tasks::in_flight_ofds(self);
        let Model {
            tasks, fdts, files, ..
        } = self;
        files.collect_garbage(&tasks::live_fd_tables(tasks, fdts), &held)
    }

    fn alive_count(&self) -> usize {
        self.tasks.iter().filter(|t| t.alive()).count()
    }

    /// exit_group or a fatal signal: every thread of the group ends; the leader keeps the
    /// status (kernel/exit.c: do_group_exit, zap_other_threads).
    fn exit_group(&mut self, t: TaskId, status: ExitStatus) {
        let tgid = self.tasks[t as usize].tgid;
        let others: Vec<TaskId> = (0..self.tasks.len() as TaskId)
            .filter(|&i| i != tgid && self.tasks[i as usize].tgid == tgid)
            .collect();
        for i in others {
            self.terminate(i, status);
        }
        self.terminate(tgid, status);
    }
}

/// Observation kinds the model cannot predict on the profile's kernel, with the reason: a
/// report leaves them out of the comparison (as it does for what the backend cannot observe).
///
/// Before Linux 5.19 a write fault reuses a copy-on-write page only when its reference count
/// is 1 (mm/memory.c `do_wp_page` since 5.9, commit 09854ba94c6a "mm: do_wp_page()
/// simplification"), and a recently faulted page holds one more reference while it sits in a
/// per-CPU LRU pagevec that every process on that CPU fills: whether the write after a
/// partner's copy reuses the frame or copies it is not a function of the case. 5.19 drains the
/// local pagevec first and marks exclusive pages (commit 6c287605fd56 "mm: remember
/// exclusively mapped anonymous pages with PG_anon_exclusive"). Values, presence and the
/// exclusive bit do not depend on it, only frame classes.
pub fn unpredictable_observations(profile: &Profile) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    if !profile.kernel_at_least(5, 19) {
        v.push((
            "pfn",
            "physical frame classes: before Linux 5.19 copy-on-write reuse depends on LRU pagevec references",
        ));
    }
    v
}

/// Ops that never close an fd, replace one, or end a task when they complete normally (a
/// fatal signal or a task ending while the op ran is checked separately). New op kinds are
/// not listed until shown to be so, and get the full garbage collection.
fn keeps_every_fd(kind: &OpKind) -> bool {
    matches!(
        kind,
        OpKind::MemRead { .. }
            | OpKind::MemWrite { .. }
            | OpKind::Madvise { .. }
            | OpKind::Open { .. }
            | OpKind::Dup { .. }
            | OpKind::Read { .. }
            | OpKind::Write { .. }
            | OpKind::Pread { .. }
            | OpKind::Pwrite { .. }
            | OpKind::Lseek { .. }
            | OpKind::Fcntl { .. }
            | OpKind::Pipe2 { .. }
            | OpKind::Ftruncate { .. }
            | OpKind::Prctl { .. }
            | OpKind::Sigaltstack { .. }
            | OpKind::Setpriority { .. }
            | OpKind::Getpriority
            | OpKind::SchedSetscheduler { .. }
            | OpKind::SchedGetscheduler
            | OpKind::Personality { .. }
            | OpKind::SchedSetaffinity { .. }
            | OpKind::SchedGetaffinity
            | OpKind::Prlimit { .. }
            | OpKind::Seccomp { .. }
            | OpKind::Setpgid { .. }
            | OpKind::Getpgid { .. }
            | OpKind::Setsid
            | OpKind::Getsid { .. }
            | OpKind::PidfdOpen { .. }
            | OpKind::PidfdGetfd { .. }
            | OpKind::Poll { .. }
            | OpKind::Setitimer { .. }
            | OpKind::Getitimer { .. }
            | OpKind::Alarm { .. }
            | OpKind::TimerCreate { .. }
            | OpKind::TimerSettime { .. }
            | OpKind::TimerGettime { .. }
            | OpKind::TimerDelete { .. }
    )
}
