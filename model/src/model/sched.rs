//! Scheduling and resource state: a thread's nice, policy, real-time priority,
//! `SCHED_RESET_ON_FORK` flag and persona, and a process's resource limits; what fork, clone
//! and exec do to them, and the privilege rules of changing them.
//!
//! Sources: kernel/sched/core.c (`sched_fork`, `set_user_nice`, `__sched_setscheduler`,
//! `user_check_sched_setscheduler`, `is_nice_reduction`; kernel/sched/syscalls.c since
//! 6.11), kernel/sys.c (`setpriority`, `set_one_prio`, `getpriority`, `do_prlimit`,
//! `prlimit64`), kernel/fork.c (`copy_process`: the `RLIMIT_NPROC` check), kernel/ucount.c
//! (`is_rlimit_overlimit`), kernel/exec_domain.c (`personality`), fs/exec.c
//! (`begin_new_exec`: `personality &= ~bprm->per_clear`), arch/x86/kernel/process_64.c
//! (`set_personality_64bit`).

use super::Model;
use crate::obs::{Errno, Outcome};
use crate::op::TaskId;
use crate::profile::Profile;
use crate::sched::{
    Rlim, PERSONALITY_QUERY, READ_IMPLIES_EXEC, RLIMITS, RLIMIT_NICE, RLIMIT_NPROC, RLIMIT_RTPRIO,
    RLIM_NLIMITS, SCHED_BATCH, SCHED_FIFO, SCHED_IDLE, SCHED_OTHER, SCHED_RESET_ON_FORK, SCHED_RR,
};

/// A thread's scheduling state and persona (all in its `task_struct`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct TaskSched {
    /// `task_nice`: kept while the policy is real-time or idle.
    pub(super) nice: i32,
    /// `policy`.
    pub(super) policy: u32,
    /// `rt_priority` (0 unless the policy is real-time).
    pub(super) rt_priority: u32,
    /// `sched_reset_on_fork`.
    pub(super) reset_on_fork: bool,
    /// `personality`.
    pub(super) personality: u32,
    /// `cpus_mask`, over the backend's CPU list.
    pub(super) affinity: u32,
}

/// The mask of the CPUs a profile's tasks may be given.
fn usable(p: &Profile) -> u32 {
    let n = p.cpus.clamp(1, 31);
    (1u32 << n) - 1
}

fn rt_policy(policy: u32) -> bool {
    policy == SCHED_FIFO || policy == SCHED_RR
}

impl TaskSched {
    // rule: sched.start
    /// The lab's tasks start with the lab's own nice, policy and persona (environment facts
    /// of the profile); a policy the profile gives with `SCHED_RESET_ON_FORK` keeps the flag.
    pub(super) fn start(p: &Profile) -> TaskSched {
        TaskSched {
            nice: p.nice,
            policy: p.sched_policy & !SCHED_RESET_ON_FORK,
            rt_priority: 0,
            reset_on_fork: p.sched_policy & SCHED_RESET_ON_FORK != 0,
            personality: p.personality,
            affinity: match p.affinity & usable(p) {
                0 => usable(p),
                a => a,
            },
        }
    }

    // rule: sched.fork
    /// sched_fork: every new task (fork, vfork, any clone, a thread included) has its
    /// creator's policy, priority, nice, persona and CPU affinity (the task struct is copied:
    /// `cpus_mask`, and since 6.2 `user_cpus_ptr` by dup_user_cpus_ptr), unless the
    /// creator has `sched_reset_on_fork`: then a real-time (or deadline) policy becomes
    /// `SCHED_NORMAL` with nice 0 and priority 0, any other policy stays with a negative nice
    /// raised to 0, and the child's flag is cleared (the creator keeps its own).
    pub(super) fn for_child(&self) -> TaskSched {
        let mut c = *self;
        if c.reset_on_fork {
            if rt_policy(c.policy) {
                c.policy = SCHED_OTHER;
                c.nice = 0;
                c.rt_priority = 0;
            } else if c.nice < 0 {
                c.nice = 0;
            }
            c.reset_on_fork = false;
        }
        c
    }

    // rule: sched.exec
    /// Exec keeps nice, policy, priority, affinity and `sched_reset_on_fork` (begin_new_exec
    /// touches none of them). Of the persona, begin_new_exec clears `bprm->per_clear`, which only a
    /// set-user-id or set-group-id exec fills (`PER_CLEAR_ON_SETID`; the lab's exec is
    /// neither), and loading an x86-64 ELF program (`SET_PERSONALITY2` →
    /// `set_personality_64bit`) clears `READ_IMPLIES_EXEC`; `elf_read_implies_exec` sets it
    /// again only for a 32-bit program (since 5.8; before, for a program without
    /// `PT_GNU_STACK`: the lab has one, non-executable).
    pub(super) fn exec(&mut self) {
        self.personality &= !READ_IMPLIES_EXEC;
    }
}

// rule: rlimit.inherit
/// A process's limits of [`RLIMITS`] (in its `signal_struct`, shared by its threads: the
/// model keeps them on the group leader). copy_signal copies the creator's into a new
/// process (fork, vfork, any clone without `CLONE_THREAD`); exec keeps the `signal_struct`,
/// and a thread that execs takes over its group's; the lab's tasks start with the lab's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rlimits([Rlim; RLIMITS.len()]);

impl Default for Rlimits {
    fn default() -> Self {
        Rlimits([Rlim::INFINITY; RLIMITS.len()])
    }
}

impl Rlimits {
    /// The lab's limits (a resource the profile does not give has none).
    pub(super) fn start(p: &Profile) -> Rlimits {
        let mut r = Rlimits::default();
        for s in &p.rlimits {
            if let Some(i) = RLIMITS.iter().position(|&x| x == s.resource) {
                r.0[i] = s.limit;
            }
        }
        r
    }

    fn slot(resource: u32) -> Option<usize> {
        RLIMITS.iter().position(|&x| x == resource)
    }

    /// The soft limit of `resource` (`task_rlimit`).
    fn soft(&self, resource: u32) -> u64 {
        Rlimits::slot(resource).map_or(u64::MAX, |i| self.0[i].cur)
    }
}

/// `nice_to_rlimit`: the `RLIMIT_NICE` a nice value needs, `20 - nice` (1..=40).
fn nice_to_rlimit(nice: i32) -> u64 {
    (20 - nice) as u64
}

impl Model {
    fn rlimits_of(&self, t: TaskId) -> &Rlimits {
        &self.tasks[self.tasks[t as usize].tgid as usize].rlimits
    }

    /// `capable(CAP_SYS_NICE)`: in the initial user namespace, which a task in a user
    /// namespace of the case is not (cap_capable never grants an ancestor namespace's
    /// capability to a task of a descendant one).
    fn cap_sys_nice(&self, t: TaskId) -> bool {
        !self.tasks[t as usize].userns
            && self
                .profile
                .cap_sys_nice
                .unwrap_or(self.profile.cap_sys_admin)
    }

    /// `capable(CAP_SYS_RESOURCE)`, as [`Model::cap_sys_nice`].
    fn cap_sys_resource(&self, t: TaskId) -> bool {
        !self.tasks[t as usize].userns
            && self
                .profile
                .cap_sys_resource
                .unwrap_or(self.profile.cap_sys_admin)
    }

    /// `is_nice_reduction`: `RLIMIT_NICE` allows `nice`.
    fn nice_allowed(&self, t: TaskId, nice: i32) -> bool {
        nice_to_rlimit(nice) <= self.rlimits_of(t).soft(RLIMIT_NICE)
    }

    // rule: fork.rlimit-nproc
    /// copy_process: once the new task is counted, a user over its `RLIMIT_NPROC` (the
    /// caller's soft limit) gets EAGAIN unless it is the initial namespace's root user
    /// (`INIT_USER`, by real uid: a case's user namespaces keep the lab's uid) or holds
    /// CAP_SYS_RESOURCE or CAP_SYS_ADMIN (in the initial namespace). The count (every task
    /// of the uid on the machine, threads included) is not the model's to know: only limits
    /// at which the outcome is certain are decided, 0 or 1 (the caller and the new task are
    /// 2 at least; before 5.14 the same check read `processes >= limit` before counting the
    /// new task: still certain for 0 and 1); a limit the generator sets is 0, 1 or one no
    /// count reaches. Checked after the flag checks and copy_creds, before copy_semundo.
    pub(super) fn nproc_refuses(&self, t: TaskId) -> bool {
        if self.profile.uid == 0 || self.cap_sys_resource(t) || self.cap_sys_admin_init(t) {
            return false;
        }
        self.rlimits_of(t).soft(RLIMIT_NPROC) <= 1
    }

    fn cap_sys_admin_init(&self, t: TaskId) -> bool {
        !self.tasks[t as usize].userns && self.profile.cap_sys_admin
    }

    // rule: sched.setpriority
    /// setpriority(PRIO_PROCESS, 0, nice): the value is clamped to -20..=19; lowering the
    /// caller's nice needs `RLIMIT_NICE` ≥ `20 - nice` or CAP_SYS_NICE (EACCES); an RT or
    /// idle task stores the nice for later (set_user_nice).
    pub(super) fn op_setpriority(&mut self, t: TaskId, nice: i32) -> Outcome {
        let nice = nice.clamp(-20, 19);
        let me = t as usize;
        if nice < self.tasks[me].sched.nice && !self.nice_allowed(t, nice) && !self.cap_sys_nice(t)
        {
            return Outcome::Err(Errno::EACCES);
        }
        self.tasks[me].sched.nice = nice;
        Outcome::Ret(0)
    }

    /// getpriority(PRIO_PROCESS, 0): the caller's nice, whatever its policy.
    pub(super) fn op_getpriority(&self, t: TaskId) -> Outcome {
        Outcome::Ret(i64::from(self.tasks[t as usize].sched.nice))
    }

    // rule: sched.setscheduler
    /// sched_setscheduler(0, policy, {priority}): `SCHED_RESET_ON_FORK` is split off the
    /// policy; EINVAL for a policy other than OTHER, FIFO, RR, BATCH, IDLE (DEADLINE fails
    /// `__checkparam_dl` without its parameters; `SCHED_EXT`, 6.12, is never asked for), a
    /// priority above 99, or a priority that is 0 for FIFO/RR or not 0 for the others. Then
    /// without CAP_SYS_NICE (user_check_sched_setscheduler) EPERM for: a switch to FIFO/RR
    /// with `RLIMIT_RTPRIO` 0, an RT priority above both the current one and
    /// `RLIMIT_RTPRIO`, leaving `SCHED_IDLE` for another policy when `RLIMIT_NICE` does not
    /// allow the current nice, and clearing `SCHED_RESET_ON_FORK` (since 2.6.32). Success
    /// sets policy, priority and the flag; the nice is kept (`sched_nice` is the current
    /// one).
    pub(super) fn op_sched_setscheduler(&mut self, t: TaskId, word: u32, priority: u32) -> Outcome {
        let reset = word & SCHED_RESET_ON_FORK != 0;
        let policy = word & !SCHED_RESET_ON_FORK;
        // sys_sched_setscheduler: a negative policy word.
        if (word as i32) < 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        if !matches!(
            policy,
            SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE
        ) {
            return Outcome::Err(Errno::EINVAL);
        }
        if priority > 99 || rt_policy(policy) != (priority != 0) {
            return Outcome::Err(Errno::EINVAL);
        }
        let cur = self.tasks[t as usize].sched;
        let mut needs_priv = false;
        if rt_policy(policy) {
            let rlim = self.rlimits_of(t).soft(RLIMIT_RTPRIO);
            if policy != cur.policy && rlim == 0 {
                needs_priv = true;
            }
            if priority > cur.rt_priority && u64::from(priority) > rlim {
                needs_priv = true;
            }
        }
        if cur.policy == SCHED_IDLE && policy != SCHED_IDLE && !self.nice_allowed(t, cur.nice) {
            needs_priv = true;
        }
        if cur.reset_on_fork && !reset {
            needs_priv = true;
        }
        if needs_priv && !self.cap_sys_nice(t) {
            return Outcome::Err(Errno::EPERM);
        }
        let s = &mut self.tasks[t as usize].sched;
        s.policy = policy;
        s.rt_priority = priority;
        s.reset_on_fork = reset;
        Outcome::Ret(0)
    }

    /// sched_getscheduler(0): the policy, or'ed with `SCHED_RESET_ON_FORK` when set.
    pub(super) fn op_sched_getscheduler(&self, t: TaskId) -> Outcome {
        let s = self.tasks[t as usize].sched;
        let flag = if s.reset_on_fork {
            SCHED_RESET_ON_FORK
        } else {
            0
        };
        Outcome::Ret(i64::from(s.policy | flag))
    }

    // rule: sched.personality
    /// personality(persona): returns the caller's old persona and, unless the argument is
    /// `0xffffffff`, stores the new one unchecked (a per-thread field).
    pub(super) fn op_personality(&mut self, t: TaskId, persona: u32) -> Outcome {
        let s = &mut self.tasks[t as usize].sched;
        let old = s.personality;
        if persona != PERSONALITY_QUERY {
            s.personality = persona;
        }
        Outcome::Ret(i64::from(old))
    }

    // rule: sched.affinity
    /// sched_setaffinity(0, size, mask): the mask is cut to the CPUs the caller's cpuset
    /// allows (`cpuset_cpus_allowed`); none left is EINVAL (`__set_cpus_allowed_ptr`), else
    /// it becomes the calling thread's; no privilege is needed on itself. sched_getaffinity
    /// reports it.
    pub(super) fn op_sched_setaffinity(&mut self, t: TaskId, cpus: u32) -> Outcome {
        let new = cpus & usable(&self.profile);
        if new == 0 {
            return Outcome::Err(Errno::EINVAL);
        }
        self.tasks[t as usize].sched.affinity = new;
        Outcome::Ret(0)
    }

    /// sched_getaffinity(0, size, mask): the calling thread's CPUs.
    pub(super) fn op_sched_getaffinity(&self, t: TaskId) -> Outcome {
        Outcome::Ret(i64::from(self.tasks[t as usize].sched.affinity))
    }

    // rule: rlimit.prlimit
    /// prlimit64(0, resource, new, &old) (do_prlimit): EINVAL for a resource at or above
    /// `RLIM_NLIMITS` or a soft limit above the hard one; EPERM for a hard limit above the
    /// current one without CAP_SYS_RESOURCE; else the old limits are written back and the
    /// new ones stored for the whole process (with a NULL `old`, the call returns 0).
    /// Resources the model does not keep are refused (ENOSYS: no backend is asked for them).
    pub(super) fn op_prlimit(
        &mut self,
        t: TaskId,
        resource: u32,
        set: Option<Rlim>,
        no_old: bool,
    ) -> Outcome {
        if resource >= RLIM_NLIMITS {
            return Outcome::Err(Errno::EINVAL);
        }
        if let Some(n) = set {
            if n.cur > n.max {
                return Outcome::Err(Errno::EINVAL);
            }
        }
        let Some(i) = Rlimits::slot(resource) else {
            return Outcome::Err(Errno::ENOSYS);
        };
        let leader = self.tasks[t as usize].tgid as usize;
        let old = self.tasks[leader].rlimits.0[i];
        if let Some(n) = set {
            if n.max > old.max && !self.cap_sys_resource(t) {
                return Outcome::Err(Errno::EPERM);
            }
            self.tasks[leader].rlimits.0[i] = n;
        }
        if no_old {
            return Outcome::Ret(0);
        }
        Outcome::Rlimit(old)
    }
}
