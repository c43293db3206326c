//! The coverage matrix: behaviours of Linux process creation × where forkspec checks them.
//!
//! The behaviours are catalogued here ([`CATALOGUE`]), each with the tests of the established
//! Linux suites (LTP, the kernel's selftests) that check the same thing and the model rules
//! that implement it. Where forkspec checks a behaviour is never written by hand: a test says
//! so with a comment line `// covers: BEHAVIOUR-ID` directly above it (among its attributes)
//! or inside its body, and [`scan`] finds those lines in the source tree. [`render`] turns the
//! catalogue and the scan into `docs/coverage.md`; `forkspec coverage --check` and
//! `suites/docs.rs` fail when that file is stale, when an annotation names an unknown
//! behaviour or sits on something that is not a test, or when the file names a test that
//! does not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One behaviour of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// Stable id, `area.short-name`, as written in `// covers:` annotations.
    pub id: &'static str,
    /// What Linux does, in one line.
    pub what: &'static str,
    /// LTP tests (testcases/kernel/syscalls/*) that check the same behaviour.
    pub ltp: &'static [&'static str],
    /// Kernel selftests (tools/testing/selftests/DIR/FILE) that check it.
    pub kselftest: &'static [&'static str],
    /// Model rules (`// rule: ID` tags in model/src) that implement it.
    pub rules: &'static [&'static str],
}

const fn b(
    id: &'static str,
    what: &'static str,
    ltp: &'static [&'static str],
    kselftest: &'static [&'static str],
    rules: &'static [&'static str],
) -> Behaviour {
    Behaviour {
        id,
        what,
        ltp,
        kselftest,
        rules,
    }
}

/// The behaviours forkspec means to check, in the order of docs/coverage.md. Behaviours that
/// nothing checks yet stay listed: the matrix says "not checked" for them.
pub const CATALOGUE: &[Behaviour] = &[
    // Task creation.
    b(
        "fork.return-values",
        "fork returns the new child to the parent; the child is a new process; EAGAIN at the task limit",
        &["fork01", "fork03", "fork_procs", "clone01", "clone03", "clone301"],
        &["clone3/clone3.c"],
        &["task.fork-limit"],
    ),
    b(
        "fork.ppid",
        "the child's parent is the caller; orphans go to the nearest subreaper",
        &["getppid02"],
        &[],
        &["task.exit-zombie-and-reparent"],
    ),
    b(
        "fork.wait",
        "wait reaps a zombie child (oldest first for any child), ECHILD without one; a blocked wait wakes at the child's exit",
        &["fork_procs", "clone01"],
        &["pidfd/pidfd_wait.c"],
        &[
            "task.wait-reaps-in-children-order",
            "task.blocked-ops-wake",
            "task.blocked-wait-echild-when-no-child-left",
        ],
    ),
    b(
        "fork.new-objects",
        "fork gives the child its own address space, fd table, fs context and signal handlers (kcmp classes)",
        &["clone02"],
        &[],
        &["task.sharing-classes"],
    ),
    // Memory.
    b(
        "mem.cow-parent-writes",
        "after fork, the parent's writes to private memory are not seen by the child",
        &[],
        &["mm/cow.c"],
        &["mem.cow-copy-when-shared"],
    ),
    b(
        "mem.cow-child-writes",
        "after fork, the child's writes to private memory are not seen by the parent",
        &["fork04", "clone02"],
        &[],
        &["mem.cow-copy-when-shared"],
    ),
    b(
        "mem.cow-frames",
        "fork shares private frames copy-on-write: one copy per distinct page written, none for a page mapped once",
        &[],
        &["mm/cow.c"],
        &[
            "mem.fork-shares-frames-cow",
            "mem.cow-copy-when-shared",
            "mem.cow-reuse-when-exclusive",
            "mem.exclusive-means-mapped-once",
        ],
    ),
    b(
        "mem.zero-page",
        "reading untouched private anonymous memory maps the shared zero page; fork copies no page tables without an anon_vma",
        &[],
        &[],
        &[
            "mem.zero-page-on-anon-read",
            "mem.fork-copies-ptes-only-with-anon-vma",
            "mem.anon-vma-on-first-private-write",
            "mem.anon-vma-reuse-ignores-protection",
        ],
    ),
    b(
        "mem.map-shared",
        "MAP_SHARED memory (anonymous and file) stays shared: writes are seen both ways",
        &[],
        &[],
        &["mem.shared-mappings-stay-shared"],
    ),
    b(
        "mem.file-private",
        "a MAP_PRIVATE file mapping shows the page cache until its first write makes a private copy",
        &[],
        &[],
        &[
            "mem.file-private-maps-page-cache-until-written",
            "mem.read-fault-around",
        ],
    ),
    b(
        "mem.dontfork",
        "MADV_DONTFORK ranges are not mapped in the child (access is SIGSEGV); MADV_DOFORK undoes it",
        &["madvise01 (the call is accepted, no more)"],
        &[],
        &["mem.dontfork-absent-in-child", "mem.unmapped-access-sigsegv"],
    ),
    b(
        "mem.wipeonfork",
        "MADV_WIPEONFORK ranges are zero-filled in the child and grandchildren; EINVAL on shared or file mappings",
        &["madvise10", "madvise02"],
        &[],
        &[
            "mem.wipeonfork-empty-in-child",
            "mem.wipeonfork-einval-on-shared-or-file",
        ],
    ),
    b(
        "mem.keeponfork",
        "MADV_KEEPONFORK undoes MADV_WIPEONFORK: the child gets the contents again",
        &["madvise10"],
        &[],
        &["mem.madvise-flags-split-and-merge"],
    ),
    // Mappings changed after fork.
    b(
        "mm.after-fork-per-process",
        "mmap and munmap in one process after fork leave the other's mappings alone; a MAP_SHARED|MAP_ANONYMOUS mapping made after fork is the maker's alone (the other has nothing there), one made before stays shared",
        &["munmap01", "mmap01"],
        &[],
        &[
            "mm.mmap-after-fork-private-to-maker",
            "mm.munmap-unmaps-caller-only",
        ],
    ),
    b(
        "mm.mprotect",
        "mprotect in one process: a store to a read-only page and any access to a PROT_NONE page is SIGSEGV there only; children forked later inherit the protection",
        &["mprotect02", "mprotect03"],
        &[],
        &["mm.mprotect-access-sigsegv"],
    ),
    b(
        "mm.mapping-errors",
        "MAP_FIXED_NOREPLACE over a mapped page is EEXIST and maps nothing; zero lengths (EINVAL for mmap and munmap); mprotect over a hole is ENOMEM after changing what precedes it",
        &["mmap17", "mprotect01", "munmap03"],
        &["mm/map_fixed_noreplace.c"],
        &[
            "mm.mmap-fixed-noreplace-eexist",
            "mm.mprotect-hole-enomem",
        ],
    ),
    b(
        "mm.clone-vm-mappings",
        "CLONE_VM and vfork children share the address space: mmap, munmap and mprotect by either change it for both; a vfork child's mapping stays with the parent after the child's exec",
        &[],
        &[],
        &["mm.clone-vm-shares-mapping-changes"],
    ),
    b(
        "mm.mremap-cow",
        "mremap after fork: private pages moved by one process are still the frames the other maps, shared copy-on-write until written; the contents stay each process's own and the other's mappings do not move",
        &[],
        &[],
        &["mm.mremap-move-keeps-frames"],
    ),
    b(
        "mm.mremap-resize",
        "mremap resizes in place (a shrink unmaps the tail; a grow needs free pages after the mapping, else ENOMEM) and moves with MREMAP_MAYMOVE|MREMAP_FIXED in the caller's address space only; a MAP_SHARED|MAP_ANONYMOUS mapping grown past its shmem object is SIGBUS there; since 6.17 a plain move may span several mappings",
        &["mremap01", "mremap04", "mremap05"],
        &["mm/mremap_test.c"],
        &[
            "mm.mremap-shrink-in-place",
            "mm.mremap-grow-in-place",
            "mm.mremap-shared-grow-sigbus",
            "mm.mremap-move-spans-vmas-since-6.17",
        ],
    ),
    b(
        "mm.mremap-errors",
        "mremap errors: EINVAL for an unaligned address, a zero new size, MREMAP_FIXED without MREMAP_MAYMOVE, overlapping ranges, an empty private old range; EFAULT for an unmapped old address; since 6.17 the checks of a MREMAP_FIXED call come before it unmaps anything",
        &["mremap02", "mremap03", "mremap05"],
        &[],
        &[
            "mm.mremap-einval",
            "mm.mremap-unmapped-efault",
            "mm.mremap-fixed-checks-first-since-6.17",
        ],
    ),
    b(
        "mm.mlock",
        "mlock/mlock2 lock a range (a VMA flag: split and merged) and populate it, with store faults in private writable mappings (copy-on-write with a fork child broken), load faults elsewhere; MLOCK_ONFAULT populates nothing; holes and PROT_NONE are ENOMEM; munlock unlocks; MADV_DONTNEED on a locked VMA is EINVAL; mprotect making a locked private mapping writable copies its pages",
        &["mlock01", "mlock02", "mlock201", "mlock202", "munlock01", "munlock02"],
        &["mm/mlock2-tests.c"],
        &[
            "mm.mlock-populates",
            "mm.mlock-onfault-no-populate",
            "mm.mlock-range-enomem",
            "mm.munlock-clears",
            "mm.mlock-dontneed-einval",
            "mm.mlock-mprotect-write-breaks-cow",
        ],
    ),
    b(
        "mm.mlock-fork",
        "locks are not inherited: a fork child's mappings are unlocked and its mm has no MCL_FUTURE; a vfork or CLONE_VM child shares the lock state; exec drops it",
        &["mlock203"],
        &[],
        &["mm.mlock-not-inherited-by-fork"],
    ),
    b(
        "mm.mlockall",
        "mlockall: MCL_CURRENT locks and populates every mapping, MCL_FUTURE the mappings made later (MCL_ONFAULT: without populating), MCL_CURRENT alone cancels MCL_FUTURE; EINVAL for 0, unknown bits, MCL_ONFAULT alone; munlockall unlocks everything",
        &["mlockall01", "mlockall02", "mlockall03"],
        &["mm/mlock2-tests.c"],
        &[
            "mm.mlockall-flags",
            "mm.mlockall-future-locks-later-mappings",
            "mm.munlockall-clears",
        ],
    ),
    b(
        "mm.map-locked",
        "MAP_LOCKED locks and populates a new mapping; mremap growing a locked mapping populates the new part",
        &[],
        &[],
        &["mm.map-locked-populates", "mm.mremap-grow-locked-populates"],
    ),
    b(
        "mm.mlock-rlimit",
        "without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds the locked pages (mlock ENOMEM, a locked mmap EAGAIN, MCL_CURRENT ENOMEM) and a zero limit is EPERM for every lock call",
        &["mlock02", "mlockall02"],
        &["mm/on-fault-limit.c"],
        &["mm.mlock-eperm-without-limit", "mm.mlock-rlimit-memlock"],
    ),
    // File descriptors.
    b(
        "fd.inherited",
        "the child gets a copy of the fd table: same fds, same open file descriptions, FD_CLOEXEC per fd",
        &["fork07", "fork10"],
        &[],
        &["task.fork-copies-fd-table"],
    ),
    b(
        "fd.shared-offset",
        "parent and child share the file offset of every inherited description (pread/pwrite leave it alone)",
        &["fork10", "fork07"],
        &[],
        &["fd.read-moves-shared-offset", "fd.pread-keeps-offset"],
    ),
    b(
        "fd.shared-status-flags",
        "F_SETFL status flags are shared through the description; FD_CLOEXEC belongs to one fd",
        &[],
        &[],
        &["fd.status-flags-shared-cloexec-per-fd", "fd.append-writes-at-eof"],
    ),
    b(
        "fd.close-independent",
        "closing an fd in one process leaves the other process's fd open",
        &["fork08", "fork09"],
        &[],
        &["fd.close-per-table"],
    ),
    b(
        "fd.pipe-eof",
        "a pipe reaches EOF only when every write end in every process is closed; no reader is SIGPIPE",
        &[],
        &[],
        &[
            "pipe.eof-after-every-writer",
            "pipe.write-without-reader-sigpipe",
        ],
    ),
    // clone flags.
    b(
        "clone.vm",
        "CLONE_VM: parent and child share the address space",
        &["clone02", "clone10"],
        &[],
        &["clone.flag-sharing"],
    ),
    b(
        "clone.files",
        "CLONE_FILES: parent and child share one fd table (opens and closes are seen by both)",
        &["clone02"],
        &[],
        &["clone.flag-sharing"],
    ),
    b(
        "clone.fs",
        "CLONE_FS: parent and child share cwd, root and umask (one fs_struct)",
        &["clone02"],
        &[],
        &["clone.flag-sharing"],
    ),
    b(
        "clone.sighand",
        "CLONE_SIGHAND: parent and child share signal handlers; EINVAL without CLONE_VM",
        &["clone02"],
        &[],
        &["clone.flag-sharing", "clone.validity-rules"],
    ),
    b(
        "clone.thread",
        "CLONE_THREAD: the child joins the caller's thread group; EINVAL without CLONE_SIGHAND",
        &["clone08"],
        &[],
        &["clone.flag-sharing", "clone.validity-rules"],
    ),
    b(
        "clone.parent",
        "CLONE_PARENT: the child's parent is the caller's parent; EINVAL from a pid-namespace init",
        &["clone08"],
        &[],
        &["clone.flag-sharing", "clone.validity-rules"],
    ),
    b(
        "clone.vfork",
        "vfork and CLONE_VFORK: the parent is suspended until the child exits or execs; the vfork child shares memory",
        &["clone05"],
        &[],
        &["clone.vfork-suspends-parent"],
    ),
    b(
        "clone.exit-signal",
        "exit_signal: the signal the parent gets at the child's exit; clone3 rejects values above 64 or with high bits",
        &[],
        &["clone3/clone3.c"],
        &["clone.validity-rules"],
    ),
    b(
        "clone.pidfd",
        "CLONE_PIDFD puts a pidfd in the caller's fd table; EINVAL with CLONE_DETACHED, or with CLONE_PARENT_SETTID on legacy clone",
        &[],
        &["pidfd/pidfd_wait.c"],
        &["clone.flag-sharing", "clone.validity-rules"],
    ),
    b(
        "clone.settid-cleartid",
        "CLONE_PARENT_SETTID / CLONE_CHILD_SETTID store the child's tid; CLONE_CHILD_CLEARTID clears it and wakes a futex at exit",
        &["clone08"],
        &["pidfd/pidfd_wait.c"],
        &["clone.tid-words", "clone.child-cleartid-on-mm-release"],
    ),
    b(
        "clone.clear-sighand-validity",
        "CLONE_CLEAR_SIGHAND is accepted alone and EINVAL together with CLONE_SIGHAND",
        &[],
        &["clone3/clone3_clear_sighand.c"],
        &["clone.validity-rules"],
    ),
    b(
        "clone.clear-sighand-resets",
        "CLONE_CLEAR_SIGHAND resets the child's caught signals to the default disposition (ignored stay ignored)",
        &[],
        &["clone3/clone3_clear_sighand.c"],
        &["sig.clear-sighand-keeps-ignored"],
    ),
    b(
        "clone.namespaces",
        "CLONE_NEW*: the child gets new namespaces; the flag combinations and privileges each needs",
        &["clone09", "clone11"],
        &["clone3/clone3.c"],
        &["clone.validity-rules", "clone.flag-sharing"],
    ),
    b(
        "clone.sysvsem",
        "CLONE_SYSVSEM shares the SysV semaphore undo list; with CLONE_NEWIPC it is EINVAL",
        &[],
        &[],
        &["clone.flag-sharing", "clone.validity-rules"],
    ),
    b(
        "clone.validity",
        "every EINVAL / EPERM / E2BIG / EBADF rule of clone and clone3 (sizes, stacks, flag combinations, set_tid, cgroup), in kernel order",
        &["clone04", "clone302", "clone303", "clone304"],
        &[
            "clone3/clone3.c",
            "clone3/clone3_set_tid.c",
            "clone3/clone3_cap_checkpoint_restore.c",
        ],
        &["clone.validity-rules"],
    ),
    // Being built by other work: locks, signals, exec, threads.
    b(
        "locks.not-inherited",
        "fcntl record locks belong to the process: the child does not inherit them and conflicts with the parent's",
        &["fcntl11", "fcntl14"],
        &[],
        &["lock.posix-owned-by-fd-table", "lock.close-drops-process-locks", "lock.getlk-first-conflict"],
    ),
    b(
        "locks.follow-description",
        "open-file-description locks and flock locks belong to the open file description: shared through fork and dup, released with its last reference",
        &[],
        &[],
        &["lock.ofd-owned-by-description", "lock.flock-owned-by-description", "lock.flock-conversion-not-atomic", "fd.blocked-call-holds-its-description"],
    ),
    b(
        "signals.pending-cleared",
        "the child starts with no pending signals",
        &["vfork02"],
        &[],
        &["sig.fork-keeps-mask-clears-pending"],
    ),
    b(
        "signals.mask-kept",
        "the child inherits the caller's blocked-signal mask",
        &[],
        &[],
        &["sig.fork-keeps-mask-clears-pending"],
    ),
    b(
        "signals.dispositions-inherited",
        "the child inherits the caller's signal dispositions (default, ignored, caught)",
        &[],
        &[],
        &["sig.fork-copies-dispositions"],
    ),
    b(
        "exec.cloexec",
        "execve closes the FD_CLOEXEC fds and keeps the others with their descriptions",
        &["open12"],
        &[],
        &["exec.unshares-and-closes-cloexec"],
    ),
    b(
        "exec.signals-reset",
        "execve resets caught signals to the default disposition; ignored ones stay ignored",
        &[],
        &[],
        &["exec.resets-caught-handlers"],
    ),
    b(
        "exec.releases-mm",
        "execve releases the old address space: a COW partner becomes the sole owner; a vfork parent resumes",
        &[],
        &[],
        &["exec.releases-mm", "exec.resumes-vfork-parent"],
    ),
    b(
        "threads.fork-copies-one-thread",
        "fork in a multithreaded process copies only the calling thread; a lock held by another thread stays held",
        &[],
        &[],
        &[],
    ),
    // Waiting.
    b(
        "wait.waitid",
        "waitid reports si_pid, si_code and si_status; WNOWAIT leaves the child waitable, WNOHANG gives 0 with si_pid 0, EINVAL without WEXITED/WSTOPPED/WCONTINUED, a zombie needs WEXITED",
        &["waitid01", "waitid02", "waitid03", "waitid04", "waitid05", "waitid10"],
        &[],
        &["wait.waitid-arguments", "wait.waitid-siginfo", "wait.echild-and-eligibility"],
    ),
    b(
        "wait.waitid-pidfd",
        "waitid(P_PIDFD) waits for the pidfd's child; an O_NONBLOCK pidfd gives EAGAIN (5.10+); EBADF for an fd that is no pidfd; ECHILD once reaped",
        &[],
        &["pidfd/pidfd_wait.c"],
        &["wait.waitid-arguments", "wait.waitid-pidfd-nonblock-since-5.10"],
    ),
    b(
        "pidfd.open",
        "pidfd_open gives the lowest free fd, O_CLOEXEC, O_RDWR with PIDFD_NONBLOCK and PIDFD_THREAD (6.9+) in its flags; a zombie can be opened, a reaped task is ESRCH; a non-leader without PIDFD_THREAD ENOENT (6.16+, EINVAL before); pidfds of one pid share its pidfs inode (6.9+)",
        &["pidfd_open01", "pidfd_open02", "pidfd_open03", "pidfd_open04"],
        &["pidfd/pidfd_open_test.c"],
        &[
            "pidfd.open",
            "pidfd.open-thread-since-6.9",
            "pidfd.open-enoent-since-6.16",
            "pidfd.pidfs-inode",
        ],
    ),
    b(
        "pidfd.send-signal",
        "pidfd_send_signal signals the thread group (a thread pidfd: the thread alone); a zombie takes and drops it (0); ESRCH once reaped; EBADF for an fd that is no pidfd; EINVAL for a bad signal",
        &["pidfd_send_signal01", "pidfd_send_signal02", "pidfd_send_signal03"],
        &["pidfd/pidfd_test.c"],
        &["pidfd.send-signal", "sig.generation"],
    ),
    b(
        "pidfd.getfd",
        "pidfd_getfd duplicates the target's fd on the same open file description with FD_CLOEXEC; EBADF for a bad fd or pidfd; ESRCH for a target that exited or was reaped",
        &["pidfd_getfd01", "pidfd_getfd02"],
        &["pidfd/pidfd_getfd_test.c"],
        &["pidfd.getfd", "pidfd.getfd-zombie-esrch-since-6.9"],
    ),
    b(
        "pidfd.poll",
        "poll on a pidfd is POLLIN only when the whole thread group has exited (a thread pidfd: the thread), POLLHUP too once reaped (6.9+); poll on pipes and files",
        &[],
        &["pidfd/pidfd_poll_test.c"],
        &["pidfd.poll", "pidfd.poll-hup-since-6.9"],
    ),
    b(
        "wait.process-group",
        "wait4(0) and wait4(-pgid), waitid(P_PGID) select the children of one process group; wait4 on the group of the caller's pid namespace init is wait4(-1), every child",
        &[],
        &[],
        &["wait.wait4-targets", "wait.wait4-minus-one", "wait.waitid-arguments"],
    ),
    b(
        "wait.ignored-sigchld",
        "with SIGCHLD ignored a child is released at exit (no zombie) and a wait blocked for it ends with ECHILD",
        &[],
        &[],
        &["task.exit-zombie-and-reparent", "wait.echild-and-eligibility"],
    ),
    b(
        "wait.nocldwait",
        "SA_NOCLDWAIT releases children at exit (no zombie, waits find ECHILD) and still sends SIGCHLD; exec resets it",
        &[],
        &[],
        &["sig.sigchld-released-at-exit"],
    ),
    // Stop and continue.
    b(
        "stop.stop-and-continue",
        "stop signals stop every thread of the group, SIGCONT resumes it; WUNTRACED/WSTOPPED and WCONTINUED report each once (WNOWAIT keeps it), the parent gets SIGCHLD for both; a signal sent while stopped waits for SIGCONT, SIGKILL ends a stopped task",
        &["waitid03", "waitid04", "wait401", "kill04"],
        &[],
        &[
            "stop.group-stop",
            "stop.sigcont-resumes",
            "wait.stopped-and-continued-reported-once",
            "stop.orphaned-pgrp-ignores-tty-stops",
        ],
    ),
    b(
        "stop.nocldstop",
        "SA_NOCLDSTOP (and SIGCHLD ignored) suppress the SIGCHLD of a stop or continue, not of an exit; the stop stays waitable",
        &[],
        &[],
        &["stop.sigchld-unless-nocldstop"],
    ),
    // Inherited state.
    b(
        "task.subreaper",
        "PR_SET_CHILD_SUBREAPER: orphans go to the nearest live subreaper ancestor; the flag is per process, not inherited by fork, kept by exec",
        &["prctl03"],
        &[],
        &[
            "task.prctl-subreaper-pdeathsig",
            "task.orphans-go-to-nearest-subreaper",
            "task.adopted-zombie-notifies",
        ],
    ),
    b(
        "task.pdeathsig",
        "PR_SET_PDEATHSIG: per thread, cleared in fork and clone children, kept by exec; sent to the process when the creating thread exits",
        &["prctl01"],
        &[],
        &[
            "task.prctl-subreaper-pdeathsig",
            "task.pdeathsig-fires-when-parent-thread-exits",
        ],
    ),
    b(
        "sig.altstack",
        "sigaltstack sets and reports the alternate signal stack (EINVAL for a bad mode, ENOMEM below MINSIGSTKSZ, SS_AUTODISARM kept); fork and vfork children inherit it, a CLONE_VM child without CLONE_VFORK (a thread) starts without one, exec clears it",
        &["sigaltstack01", "sigaltstack02"],
        &["sigaltstack/sas.c"],
        &[
            "sig.altstack-reset",
            "sig.altstack-report",
            "sig.altstack-fork",
            "sig.altstack-exec",
            "sig.altstack-set",
        ],
    ),
    b(
        "inherit.nice",
        "setpriority/getpriority on the calling thread: nice clamped to -20..19, lowering it needs RLIMIT_NICE or CAP_SYS_NICE (EACCES); fork, vfork and clone children (threads too) inherit it, exec keeps it",
        &["setpriority01", "setpriority02", "getpriority01", "getpriority02"],
        &[],
        &["sched.start", "sched.fork", "sched.exec", "sched.setpriority"],
    ),
    b(
        "inherit.sched-policy",
        "sched_setscheduler/sched_getscheduler: OTHER, BATCH, IDLE, FIFO and RR with their priority rules (EINVAL), RT policies and leaving SCHED_IDLE need CAP_SYS_NICE or RLIMIT_RTPRIO/RLIMIT_NICE (EPERM); every new task inherits the policy, exec keeps it",
        &[
            "sched_setscheduler01",
            "sched_setscheduler02",
            "sched_setscheduler03",
            "sched_getscheduler01",
        ],
        &[],
        &["sched.fork", "sched.exec", "sched.setscheduler"],
    ),
    b(
        "inherit.reset-on-fork",
        "SCHED_RESET_ON_FORK: a child of an RT task gets SCHED_NORMAL and nice 0, a child of a fair one a nice of at least 0, the child's flag is cleared and the caller keeps it (through exec too); clearing it needs CAP_SYS_NICE",
        &["sched_setscheduler04"],
        &[],
        &["sched.fork", "sched.setscheduler"],
    ),
    b(
        "inherit.affinity",
        "sched_setaffinity/sched_getaffinity on the calling thread: the mask is cut to the usable CPUs (none left: EINVAL); every new task inherits it, exec keeps it",
        &["sched_setaffinity01", "sched_getaffinity01"],
        &[],
        &["sched.affinity", "sched.fork", "sched.exec"],
    ),
    b(
        "inherit.personality",
        "personality sets and reports the calling thread's persona; every new task inherits it, exec keeps it except READ_IMPLIES_EXEC (x86-64)",
        &["personality01", "personality02"],
        &[],
        &["sched.personality", "sched.fork", "sched.exec"],
    ),
    b(
        "inherit.rlimit",
        "prlimit/setrlimit/getrlimit on the caller: limits are per process, copied by fork and clone, kept by exec; soft above hard is EINVAL, raising a hard limit needs CAP_SYS_RESOURCE (EPERM)",
        &["setrlimit01", "getrlimit01", "prlimit01"],
        &[],
        &["rlimit.inherit", "rlimit.prlimit"],
    ),
    b(
        "fork.rlimit-nproc",
        "fork, vfork and clone (threads too) fail with EAGAIN for an unprivileged user over RLIMIT_NPROC (0 or 1: always over); root and CAP_SYS_RESOURCE/CAP_SYS_ADMIN are never refused",
        &[],
        &[],
        &["fork.rlimit-nproc"],
    ),
    b(
        "fd.close-range",
        "close_range closes a range of fds, or marks them FD_CLOEXEC; CLOSE_RANGE_UNSHARE first copies a CLONE_FILES table, whose other users keep their fds",
        &["close_range01", "close_range02"],
        &["core/close_range_test.c"],
        &["fd.close-range"],
    ),
    b(
        "task.unshare",
        "unshare takes back a shared fd table or fs context (CLONE_FILES, CLONE_FS; CLONE_NEWNS implies CLONE_FS), enters new namespaces (CAP_SYS_ADMIN), refuses CLONE_THREAD/SIGHAND/VM while they are shared; CLONE_NEWPID makes the next child the init of a new pid namespace (no thread, no second NEWPID; ENOMEM once the init died)",
        &["unshare01", "unshare02"],
        &["pid_namespace/regression_enomem.c"],
        &[
            "task.unshare",
            "pidns.unshare-for-children",
            "pidns.thread-needs-active-for-children",
            "pidns.clone-newpid-after-unshare",
            "pidns.alloc-pid-dead-namespace",
            "pidns.first-fork-failure-kills-namespace",
        ],
    ),
    b(
        "ns.setns-join",
        "setns by pidfd joins the target's UTS, IPC, net, cgroup and time namespaces, makes its pid namespace the one of the caller's later children (only inwards), and enters a user namespace the caller owns with every capability there; all or nothing",
        &["setns01", "setns02"],
        &["pidfd/pidfd_setns_test.c"],
        &["ns.setns-commit", "ns.setns-pid-for-children-descendant"],
    ),
    b(
        "ns.setns-permissions",
        "setns by pidfd refuses: EBADF, EINVAL for no pidfd or bad flags, ESRCH for a zombie or reaped target, EPERM without ptrace read access or CAP_SYS_ADMIN over the namespace's owner and in the caller's user namespace; EINVAL re-entering its user namespace, with another thread or a shared fs; CLONE_NEWNS alone EINVAL with a shared fs; CLONE_NEWTIME EUSERS with a shared address space",
        &["setns01"],
        &["pidfd/pidfd_setns_test.c"],
        &[
            "ns.setns-pidfd-checks",
            "ns.setns-ptrace-read",
            "ns.setns-install-needs-admin-over-owner",
            "ns.setns-user-install",
            "ns.setns-mnt-install",
            "ns.setns-time-single-threaded",
        ],
    ),
    b(
        "sec.inherited",
        "no_new_privs and seccomp filters are per thread and kept by fork, clone and exec; a filter needs no_new_privs or CAP_SYS_ADMIN",
        &["prctl06", "prctl10"],
        &["seccomp/seccomp_bpf.c"],
        &["sec.no-new-privs", "sec.seccomp-filter"],
    ),
    b(
        "timer.itimers",
        "alarm and the interval timers (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) are per process: shared by threads, none in a fork child, kept by exec",
        &["alarm03", "alarm07", "getitimer01", "setitimer01"],
        &["timers/posix_timers.c"],
        &[
            "timer.new-process-has-none",
            "timer.itimers-per-process",
            "timer.alarm-is-itimer-real",
            "timer.exec-keeps-itimers",
        ],
    ),
    b(
        "timer.posix",
        "POSIX timers are per process, numbered from 0: shared by threads, none in a fork child (EINVAL for the parent's ids), deleted by exec",
        &["timer_create01", "timer_delete02", "timer_gettime01", "timer_settime01"],
        &["timers/posix_timers.c"],
        &[
            "timer.new-process-has-none",
            "timer.posix-ids-per-process",
            "timer.posix-timers-per-process",
            "timer.sigev-none-disarmed-reads-last-expiry",
            "timer.exec-deletes-posix-timers",
        ],
    ),
    // Process groups and sessions.
    b(
        "groups.inherited",
        "a fork or clone child is in its creator's process group and session (a thread answers for its process); getpgid and getsid name any visible task, ids numbered in the caller's pid namespace",
        &["getpgid01", "getpgid02", "getsid01", "getsid02"],
        &[],
        &["pgrp.inherited", "pgrp.getpgid-getsid"],
    ),
    b(
        "groups.setpgid",
        "setpgid moves the caller or a child within its session: EINVAL for a thread, ESRCH for a non-child, EACCES after the child's exec, EPERM for another session, a session leader or a group that does not exist",
        &["setpgid01", "setpgid02", "setpgid03"],
        &[],
        &["pgrp.setpgid"],
    ),
    b(
        "groups.setsid",
        "setsid makes the caller lead a new session and group, EPERM when a group with its pid exists or it leads a session; leadership is not inherited",
        &["setsid01"],
        &[],
        &["pgrp.setsid"],
    ),
    b(
        "groups.kill",
        "kill(0, sig) and kill(-pgid, sig) signal every process of the group; ESRCH for an empty or invisible group",
        &["kill02"],
        &[],
        &["pgrp.kill-group"],
    ),
];

/// Why the matrix cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The source tree is not at the given root.
    #[error(
        "{} is not a forkspec source tree (no suites/ and model/src/ there): \
         `forkspec coverage` reads the annotations in the sources, so run it from \
         the repository root or pass --root DIR",
        .0.display()
    )]
    NoSources(PathBuf),
    /// A source file could not be read.
    #[error("cannot read {path}: {1}", path = .0.display())]
    Io(PathBuf, std::io::Error),
}

/// The source files the matrix is made from: every `.rs` under `suites/` and `model/src/`,
/// as (path relative to the root with `/` separators, text), sorted by path.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// (relative path, text) of each file.
    pub files: Vec<(String, String)>,
}

impl Sources {
    /// Reads the sources under `root`.
    pub fn load(root: &Path) -> Result<Sources, CoverageError> {
        let dirs = ["suites", "model/src"];
        if dirs.iter().any(|d| !root.join(d).is_dir()) {
            return Err(CoverageError::NoSources(root.to_path_buf()));
        }
        let mut paths = vec![];
        for d in dirs {
            rust_files(&root.join(d), &mut paths)?;
        }
        let mut files = vec![];
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| CoverageError::Io(p.clone(), e))?;
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, text));
        }
        files.sort();
        Ok(Sources { files })
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CoverageError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CoverageError::Io(dir.to_path_buf(), e))?;
    for e in rd {
        let p = e
            .map_err(|e| CoverageError::Io(dir.to_path_buf(), e))?
            .path();
        if p.is_dir() {
            rust_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// How a test checks what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TestKind {
    /// A scenario of suites/scenarios.rs (model and kernel, step by step).
    Scenario,
    /// A known case: a hand-written case run on the model and the kernel, trace pinned.
    Known,
    /// A property suite: generated cases, model vs kernel.
    Property,
    /// Another suite test comparing the model with the kernel (e.g. the validity matrix).
    Suite,
    /// A model unit test (the model alone).
    Model,
}

impl TestKind {
    fn label(self) -> &'static str {
        match self {
            TestKind::Scenario => "scenario",
            TestKind::Known => "known case",
            TestKind::Property => "property",
            TestKind::Suite => "suite",
            TestKind::Model => "model unit",
        }
    }
}

/// A test function found in the sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFn {
    /// Where it is: the suite's file stem (`fork_memory`), or `model` for model unit tests.
    pub place: String,
    /// The function name.
    pub name: String,
    /// How it checks.
    pub kind: TestKind,
    /// Behaviour ids its `// covers:` lines name.
    pub covers: Vec<String>,
}

impl TestFn {
    /// `place::name`, as docs/coverage.md writes it.
    pub fn path(&self) -> String {
        format!("{}::{}", self.place, self.name)
    }
}

/// What [`scan`] found.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    /// Every test function, in file and line order.
    pub tests: Vec<TestFn>,
    /// Rule ids tagged `// rule: ID` in model/src.
    pub rules: BTreeSet<String>,
    /// Annotations or catalogue entries that are wrong (each message names the place).
    pub problems: Vec<String>,
}

/// A `fn` declaration: (indentation, name).
fn fn_decl(line: &str) -> Option<(usize, String)> {
    let indent = line.len() - line.trim_start().len();
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some((indent, name))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Whether the fn declared at `lines[at]` is a test: a `#[test]` or `#[rstest]` attribute
/// among the attributes, comments and attribute continuation lines right above it.
fn is_test(lines: &[&str], at: usize) -> bool {
    let indent = indent_of(lines[at]);
    for l in lines[..at].iter().rev() {
        let t = l.trim();
        if t == "#[test]" || t == "#[rstest]" || t.starts_with("#[rstest(") {
            return true;
        }
        if !between_attributes(l, indent) {
            return false;
        }
    }
    false
}

/// The place of a file in docs/coverage.md: the suite's stem, `model` for the model's tests
/// (`model::FILE` for another test file of the model).
fn place(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("suites/") {
        rest.trim_end_matches(".rs").replace('/', "::")
    } else if path == "model/src/model/tests.rs" {
        "model".into()
    } else if let Some(rest) = path.strip_prefix("model/src/model/") {
        format!("model::{}", rest.trim_end_matches(".rs").replace('/', "::"))
    } else {
        path.trim_end_matches(".rs").replace('/', "::")
    }
}

/// Scans the sources for test functions, their `// covers:` annotations and the model's rule
/// tags, and checks both against the catalogue.
pub fn scan(sources: &Sources, catalogue: &[Behaviour]) -> Scan {
    let known: BTreeSet<&str> = catalogue.iter().map(|b| b.id).collect();
    let mut out = Scan::default();
    let mut seen = BTreeSet::new();
    for b in catalogue {
        if !seen.insert(b.id) {
            out.problems
                .push(format!("catalogue: behaviour `{}` is listed twice", b.id));
        }
    }
    for (path, text) in &sources.files {
        let lines: Vec<&str> = text.lines().collect();
        if path.starts_with("model/src/") {
            for l in &lines {
                if let Some(id) = l.trim().strip_prefix("// rule: ") {
                    out.rules.insert(id.trim().to_string());
                }
            }
        }
        scan_file(path, &lines, &known, &mut out);
    }
    for b in catalogue {
        for r in b.rules {
            if !out.rules.contains(*r) {
                out.problems.push(format!(
                    "catalogue: behaviour `{}` names rule `{r}`, which no `// rule:` line in model/src tags",
                    b.id
                ));
            }
        }
    }
    out
}

fn scan_file(path: &str, lines: &[&str], known: &BTreeSet<&str>, out: &mut Scan) {
    // Every fn declaration: (line, indentation, name).
    let decls: Vec<(usize, usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| fn_decl(l).map(|(ind, n)| (i, ind, n)))
        .collect();
    // (decl index, behaviour id) of each annotation.
    let mut attached: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(ids) = l.trim().strip_prefix("// covers:") else {
            continue;
        };
        let at = format!("{path}:{}", i + 1);
        // Directly above: the next fn at the annotation's own indentation. Inside: the
        // nearest fn above with a smaller indentation (the body's owner).
        let ind = indent_of(l);
        let next = decls.iter().position(|d| d.0 > i);
        let target = match next {
            Some(n) if decls[n].1 == ind && no_item_between(lines, i, decls[n].0, ind) => Some(n),
            _ => decls.iter().rposition(|d| d.0 < i && d.1 < ind),
        };
        let Some(d) = target else {
            out.problems.push(format!(
                "{at}: `// covers:` is neither above nor inside a function"
            ));
            continue;
        };
        for id in ids.split(',').map(str::trim) {
            if id.is_empty() {
                out.problems
                    .push(format!("{at}: `// covers:` names no behaviour"));
            } else if !known.contains(id) {
                out.problems.push(format!(
                    "{at}: `// covers: {id}` names no behaviour of the catalogue (harness/src/coverage.rs)"
                ));
            } else {
                attached.entry(d).or_default().push(id.to_string());
            }
        }
    }
    for (n, (line, _, name)) in decls.iter().enumerate() {
        let test = is_test(lines, *line);
        let covers = attached.remove(&n).unwrap_or_default();
        if !test {
            if !covers.is_empty() {
                out.problems.push(format!(
                    "{path}:{}: `{name}` has `// covers:` annotations but is not a test",
                    line + 1
                ));
            }
            continue;
        }
        // The body ends at the closing brace at the fn's own indentation.
        let close = format!("{}}}", " ".repeat(decls[n].1));
        let end = if lines[*line].trim_end().ends_with('}') {
            line + 1
        } else {
            (line + 1..lines.len())
                .find(|&i| lines[i].trim_end() == close)
                .map_or(lines.len(), |i| i + 1)
        };
        let body = lines[*line..end].join("\n");
        let kind = if path.starts_with("model/") {
            TestKind::Model
        } else if path == "suites/scenarios.rs" {
            TestKind::Scenario
        } else if body.contains("property(") || body.contains("property_part(") {
            TestKind::Property
        } else if body.contains("known(") {
            TestKind::Known
        } else {
            TestKind::Suite
        };
        let mut covers = covers;
        covers.sort();
        covers.dedup();
        out.tests.push(TestFn {
            place: place(path),
            name: name.clone(),
            kind,
            covers,
        });
    }
}

/// Whether only attributes, comments, blank lines and deeper-indented attribute continuations
/// separate line `from` and the fn declared at line `to` (indentation `ind`).
fn no_item_between(lines: &[&str], from: usize, to: usize, ind: usize) -> bool {
    lines[from + 1..to]
        .iter()
        .all(|l| between_attributes(l, ind))
}

/// Whether `line` may stand between an item's attributes and the item at indentation `ind`:
/// blank, an attribute, a comment, or an attribute's continuation (deeper, or its closing
/// `)]`).
fn between_attributes(line: &str, ind: usize) -> bool {
    let t = line.trim();
    t.is_empty()
        || t.starts_with('#')
        || t.starts_with("//")
        || t.starts_with(')')
        || indent_of(line) > ind
}

/// The text of docs/coverage.md for `scan`.
pub fn render(catalogue: &[Behaviour], scan: &Scan) -> String {
    let mut by_behaviour: BTreeMap<&str, Vec<&TestFn>> = BTreeMap::new();
    for t in &scan.tests {
        for c in &t.covers {
            by_behaviour.entry(c.as_str()).or_default().push(t);
        }
    }
    let checked = catalogue
        .iter()
        .filter(|b| by_behaviour.contains_key(b.id))
        .count();
    let mut s = String::new();
    s.push_str(
        "# Coverage: behaviours × where forkspec checks them\n\n\
<!-- Generated by `forkspec coverage` from harness/src/coverage.rs and the `// covers:`\n\
     annotations of the tests. Do not edit: change those and run `cargo run -- coverage`. -->\n\n\
Each row is a behaviour of Linux process creation, the tests of the established Linux suites\n\
that check the same thing (LTP `testcases/kernel/syscalls/*`, the kernel's\n\
`tools/testing/selftests/*`), the forkspec tests that check it and the model rules\n\
(`// rule:` tags, see [semantics.md](semantics.md)) that implement it.\n\n\
Kinds of forkspec tests: **scenario** and **known case**: a hand-written case run on the model\n\
and the kernel step by step, the model's trace pinned in `snapshots/`; **property**: generated\n\
cases, model vs kernel; **suite**: another model-vs-kernel check (e.g. the clone validity\n\
matrix); **model unit**: the model alone (`model/src/model/tests.rs`).\n\n\
## Annotation convention\n\n\
A test says which behaviour it checks with a comment line `// covers: BEHAVIOUR-ID` (several\n\
ids may be separated by commas, several lines may be given) directly above the function, among\n\
its attributes, or inside its body. Tests live in `suites/*.rs` or `model/src/`. Behaviours and\n\
their Linux counterparts are catalogued in `harness/src/coverage.rs`. Regenerate this file\n\
with `cargo run -- coverage`; `forkspec coverage --check` (and `cargo test`, in\n\
`suites/docs.rs`) fails when it is stale, when an annotation names an unknown behaviour or is\n\
not on a test, and when this file names a test that does not exist.\n\n",
    );
    let _ = writeln!(
        s,
        "{} behaviours: {} checked by forkspec, {} not checked yet.\n",
        catalogue.len(),
        checked,
        catalogue.len() - checked
    );
    s.push_str(
        "| behaviour | what Linux does | LTP / kselftest | forkspec tests | model rules |\n",
    );
    s.push_str("|---|---|---|---|---|\n");
    for b in catalogue {
        let mut linux = vec![];
        if !b.ltp.is_empty() {
            linux.push(format!("LTP {}", b.ltp.join(", ")));
        }
        if !b.kselftest.is_empty() {
            linux.push(format!("kselftest {}", b.kselftest.join(", ")));
        }
        let linux = if linux.is_empty() {
            "—".to_string()
        } else {
            linux.join("; ")
        };
        let tests = match by_behaviour.get(b.id) {
            None => "**not checked**".to_string(),
            Some(ts) => {
                let mut ts = ts.clone();
                ts.sort_by_key(|t| (t.kind, t.place.clone(), t.name.clone()));
                ts.iter()
                    .map(|t| format!("`{}` ({})", t.path(), t.kind.label()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let rules = if b.rules.is_empty() {
            "—".to_string()
        } else {
            b.rules
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {linux} | {tests} | {rules} |",
            b.id, b.what
        );
    }
    s
}

/// Problems of a docs/coverage.md text against the scan: test paths (`place::name`) in the
/// tests column that are not tests, and behaviour ids not in the catalogue.
pub fn check_doc(doc: &str, catalogue: &[Behaviour], scan: &Scan) -> Vec<String> {
    let tests: BTreeSet<String> = scan.tests.iter().map(TestFn::path).collect();
    let ids: BTreeSet<&str> = catalogue.iter().map(|b| b.id).collect();
    let mut out = vec![];
    for l in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = l.split('|').map(str::trim).collect();
        if cells.len() < 7 {
            out.push(format!("docs/coverage.md: malformed row `{l}`"));
            continue;
        }
        let id = cells[1].trim_matches('`');
        if !ids.contains(id) {
            out.push(format!(
                "docs/coverage.md: row `{id}` is not a behaviour of the catalogue"
            ));
        }
        for name in cells[4].split(", ").filter_map(|c| c.split('`').nth(1)) {
            if !tests.contains(name) {
                out.push(format!(
                    "docs/coverage.md: row `{id}` names test `{name}`, which does not exist"
                ));
            }
        }
    }
    out
}

/// Everything `forkspec coverage` and the docs suite need: the scan, its problems, and the
/// generated text.
pub struct Matrix {
    /// What the sources say.
    pub scan: Scan,
    /// The text of docs/coverage.md.
    pub text: String,
}

/// Scans `sources` against [`CATALOGUE`] and renders the matrix.
pub fn generate(sources: &Sources) -> Matrix {
    let scan = scan(sources, CATALOGUE);
    let text = render(CATALOGUE, &scan);
    Matrix { scan, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAT: &[Behaviour] = &[
        b("a.one", "first", &["fork01"], &[], &["r.one"]),
        b("a.two", "second", &[], &["clone3/clone3.c"], &[]),
    ];

    fn sources(suite: &str) -> Sources {
        Sources {
            files: vec![
                ("model/src/model/x.rs".into(), "// rule: r.one\n".into()),
                ("suites/s.rs".into(), suite.into()),
            ],
        }
    }

    const SUITE: &str = "\
// covers: a.one
#[test]
fn above() {
    known(\"x\", &c);
}

#[rstest]
#[case::x(1,
    2)]
#[case::y(
    3,
    4
)]
// covers: a.one, a.two
fn table(#[case] a: u32, #[case] b: u32) {}

proptest! {
    // covers: a.two
    #[test]
    fn prop(c in any::<u32>()) {
        property(Mix::Fork, &c);
    }
}

#[test]
fn inside() {
    let x = 1;
    // covers: a.two
}

fn helper() {}
";

    #[test]
    fn annotations_attach_above_among_attributes_and_inside() {
        let s = scan(&sources(SUITE), CAT);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        let got: Vec<(String, TestKind, Vec<String>)> = s
            .tests
            .iter()
            .map(|t| (t.path(), t.kind, t.covers.clone()))
            .collect();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("s::above".into(), TestKind::Known, v(&["a.one"])),
                ("s::table".into(), TestKind::Suite, v(&["a.one", "a.two"])),
                ("s::prop".into(), TestKind::Property, v(&["a.two"])),
                ("s::inside".into(), TestKind::Suite, v(&["a.two"])),
            ]
        );
    }

    #[test]
    fn unknown_behaviours_non_tests_and_unknown_rules_are_problems() {
        let text = "// covers: a.nope\n#[test]\nfn t() {}\n// covers: a.one\nfn helper() {}\n";
        let s = scan(&sources(text), CAT);
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
        assert!(s.problems[0].contains("suites/s.rs:1") && s.problems[0].contains("a.nope"));
        assert!(s.problems[1].contains("`helper`") && s.problems[1].contains("not a test"));
        let cat = [b("a.one", "x", &[], &[], &["r.missing"])];
        let s = scan(&sources(""), &cat);
        assert!(s.problems.iter().any(|p| p.contains("r.missing")));
    }

    #[test]
    fn the_matrix_lists_every_behaviour_and_says_what_is_not_checked() {
        let only_one = "// covers: a.one\n#[test]\nfn t() {}\n";
        let s = scan(&sources(only_one), CAT);
        let text = render(CAT, &s);
        assert!(text.contains("2 behaviours: 1 checked by forkspec, 1 not checked yet."));
        assert!(text.contains("| `a.one` | first | LTP fork01 | `s::t` (suite) | `r.one` |"));
        assert!(
            text.contains("| `a.two` | second | kselftest clone3/clone3.c | **not checked** | — |")
        );
        assert!(check_doc(&text, CAT, &s).is_empty());
        // A test that disappears leaves the old text naming it.
        let gone = scan(&sources(""), CAT);
        let p = check_doc(&text, CAT, &gone);
        assert!(p.iter().any(|m| m.contains("`s::t`")), "{p:?}");
        assert_ne!(render(CAT, &gone), text);
    }

    #[test]
    fn a_tree_without_sources_is_a_clear_error() {
        let e = Sources::load(Path::new("/nonexistent-forkspec-root")).unwrap_err();
        assert!(e.to_string().contains("--root"), "{e}");
    }
}
