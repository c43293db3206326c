//! Signals, the filesystem context and UTS namespaces: known cases (model and kernel must agree
//! at every step; the model's trace is pinned in snapshots/) and a property test over the
//! clone mix, which draws kill, sigaction, sigprocmask, chdir, umask, sethostname and uname.

mod common;

use common::*;
use forkspec::gen::Mix;
use forkspec_model::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(proptest_config(200))]
    /// Generated sequences heavy in signal and fs-context ops behave on the kernel exactly as
    /// the model predicts.
    #[test]
    fn signals_model_matches_kernel(choices in proptest::collection::vec(any::<u32>(), 0..240)) {
        property(Mix::Clone, &choices).map_err(TestCaseError::fail)?;
    }
}

fn sigaction(t: TaskId, sig: Signal, action: SigAction) -> Op {
    op(
        t,
        OpKind::Sigaction {
            sig,
            action,
            flags: Default::default(),
        },
    )
}

fn mask(t: TaskId, how: MaskHow, set: &[Signal]) -> Op {
    op(
        t,
        OpKind::Sigprocmask {
            how,
            set: set.to_vec(),
        },
    )
}

fn kill(t: TaskId, target: TaskId, sig: Signal) -> Op {
    op(t, OpKind::Kill { target, sig })
}

fn clone(t: TaskId, entry: CloneEntry, flags: CloneFlags) -> Op {
    op(
        t,
        OpKind::Clone(CloneOp {
            entry,
            flags,
            exit_signal: 17,
            args: Clone3Args::default(),
        }),
    )
}

fn signals(m: &ModelRun, step: usize, t: TaskId) -> SignalView {
    m.states[step]
        .task(t)
        .and_then(|v| v.signals)
        .unwrap_or_else(|| panic!("t{t} has no signal state after step {step}"))
}

fn set(sigs: &[Signal]) -> SigSet {
    SigSet(sigs.iter().fold(0, |m, s| m | SigSet::bit(s.0)))
}

const USR1: Signal = Signal::SIGUSR1;
const USR2: Signal = Signal::SIGUSR2;

/// A blocked signal sent to the process stays pending (shared); a fork child starts with no
/// pending signal but the same mask (kernel/fork.c: init_sigpending, blocked copied); once
/// the parent unblocks it the handler takes it.
// covers: signals.pending-cleared, signals.mask-kept
#[test]
fn pending_signals_are_cleared_in_a_fork_child_and_the_mask_kept() {
    let c = case(vec![
        sigaction(0, USR1, SigAction::Handler),
        mask(0, MaskHow::Block, &[USR1]),
        kill(0, 0, USR1),
        op(0, OpKind::Fork),
        kill(0, 1, USR1),
        mask(0, MaskHow::Unblock, &[USR1]),
    ]);
    let m = known("signals_fork_clears_pending_keeps_mask", &c);
    assert_eq!(signals(&m, 2, 0).shared_pending, set(&[USR1]));
    let child = signals(&m, 3, 1);
    assert_eq!(child.blocked, set(&[USR1]));
    assert_eq!(child.pending, SigSet::EMPTY);
    assert_eq!(child.shared_pending, SigSet::EMPTY);
    assert_eq!(child.caught, set(&[USR1]), "handlers are copied");
    assert_eq!(signals(&m, 4, 1).shared_pending, set(&[USR1]));
    assert_eq!(m.outcomes[5], Outcome::Ret(0));
    assert_eq!(signals(&m, 5, 0).shared_pending, SigSet::EMPTY, "caught");
    assert_eq!(signals(&m, 5, 1).shared_pending, set(&[USR1]));
}

/// fork copies the dispositions (a later change in one process is its own); CLONE_SIGHAND
/// shares one table, so a change in either is seen by both.
// covers: signals.dispositions-inherited, clone.sighand
#[test]
fn dispositions_are_copied_by_fork_and_shared_by_clone_sighand() {
    let vm_sighand = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0);
    let c = case(vec![
        sigaction(0, USR1, SigAction::Ignore),
        op(0, OpKind::Fork),
        sigaction(1, USR1, SigAction::Handler),
        clone(0, CloneEntry::Clone, vm_sighand),
        sigaction(2, USR2, SigAction::Handler),
        sigaction(0, USR1, SigAction::Default),
    ]);
    let m = known("signals_dispositions_fork_vs_sighand", &c);
    assert_eq!(signals(&m, 1, 1).ignored, set(&[USR1]));
    assert_eq!(signals(&m, 2, 0).ignored, set(&[USR1]), "fork copied");
    assert_eq!(signals(&m, 4, 0).caught, set(&[USR2]), "shared table");
    let t2 = signals(&m, 5, 2);
    assert_eq!((t2.ignored, t2.caught), (SigSet::EMPTY, set(&[USR2])));
    assert_eq!(signals(&m, 5, 1).caught, set(&[USR1]));
}

/// CLONE_CLEAR_SIGHAND resets caught signals to SIG_DFL and keeps ignored ones ignored
/// (kernel/signal.c flush_signal_handlers(p, 0)).
// covers: clone.clear-sighand-resets
#[test]
fn clear_sighand_resets_handlers_but_keeps_ignored() {
    let c = case(vec![
        sigaction(0, USR1, SigAction::Handler),
        sigaction(0, USR2, SigAction::Ignore),
        clone(0, CloneEntry::Clone3, CloneFlags::CLEAR_SIGHAND),
        op(0, OpKind::Fork),
    ]);
    let m = known("signals_clear_sighand", &c);
    let cleared = signals(&m, 2, 1);
    assert_eq!(cleared.caught, SigSet::EMPTY);
    assert_eq!(cleared.ignored, set(&[USR2]));
    let forked = signals(&m, 3, 2);
    assert_eq!(forked.caught, set(&[USR1]));
}

/// Setting SIG_IGN discards a pending blocked signal; so does SIG_DFL of an
/// ignore-by-default one (POSIX 3.3.1.3; kernel/signal.c do_sigaction). A blocked SIGCHLD
/// from an exiting child stays pending until then.
#[test]
fn sig_ign_discards_pending_signals() {
    let c = case(vec![
        mask(0, MaskHow::Block, &[USR1, Signal::SIGCHLD]),
        kill(0, 0, USR1),
        sigaction(0, USR1, SigAction::Ignore),
        op(0, OpKind::Fork),
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
        sigaction(0, Signal::SIGCHLD, SigAction::Default),
    ]);
    let m = known("signals_sig_ign_discards_pending", &c);
    assert_eq!(signals(&m, 1, 0).shared_pending, set(&[USR1]));
    assert_eq!(signals(&m, 2, 0).shared_pending, SigSet::EMPTY);
    assert_eq!(signals(&m, 4, 0).shared_pending, set(&[Signal::SIGCHLD]));
    assert_eq!(signals(&m, 5, 0).shared_pending, SigSet::EMPTY);
}

/// A default fatal action kills the process (its status says which signal); ignore-by-default
/// signals do nothing; a zombie can still be signalled (0), a reaped task cannot (ESRCH);
/// numbers outside 0..=64 are EINVAL.
#[test]
fn default_actions_and_kill_of_a_zombie() {
    let c = case(vec![
        op(0, OpKind::Fork),
        kill(0, 1, Signal::SIGURG),
        kill(0, 1, Signal::SIGWINCH),
        kill(0, 1, Signal::SIGTERM),
        kill(0, 1, Signal::SIGTERM),
        kill(0, 1, Signal(0)),
        kill(0, 1, Signal(65)),
        op(
            0,
            OpKind::Wait {
                target: WaitTarget::Task(1),
                options: WaitOptions::default(),
            },
        ),
        kill(0, 1, Signal(0)),
        kill(0, 0, Signal(64)),
    ]);
    let m = known("signals_default_actions_zombie", &c);
    assert_eq!(m.states[2].task(1).unwrap().state, TaskState::Live);
    assert_eq!(
        m.states[3].task(1).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM))
    );
    assert_eq!(m.outcomes[4], Outcome::Ret(0), "kill of a zombie");
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::EINVAL));
    assert_eq!(m.outcomes[8], Outcome::Err(Errno::ESRCH));
    assert_eq!(m.outcomes[9], Outcome::Killed(Signal(64)), "kill of itself");
}

/// rt_sigaction refuses SIGKILL, SIGSTOP and numbers outside 1..=64; sigprocmask silently
/// leaves SIGKILL and SIGSTOP out of the mask; unblocking a pending fatal signal kills before
/// the call returns.
#[test]
fn sigaction_errors_and_unblockable_signals() {
    let c = case(vec![
        sigaction(0, Signal::SIGKILL, SigAction::Ignore),
        sigaction(0, Signal::SIGSTOP, SigAction::Handler),
        sigaction(0, Signal(0), SigAction::Default),
        sigaction(0, Signal(65), SigAction::Ignore),
        op(0, OpKind::Fork),
        mask(
            1,
            MaskHow::SetMask,
            &[Signal::SIGKILL, Signal::SIGSTOP, USR2],
        ),
        kill(0, 1, USR2),
        mask(1, MaskHow::Unblock, &[USR2]),
    ]);
    let m = known("signals_sigaction_errors", &c);
    for step in 0..4 {
        assert_eq!(m.outcomes[step], Outcome::Err(Errno::EINVAL), "step {step}");
    }
    assert_eq!(signals(&m, 5, 1).blocked, set(&[USR2]));
    assert_eq!(m.outcomes[7], Outcome::Killed(USR2));
}

/// The init of a pid namespace ignores default-action signals sent from inside its namespace,
/// SIGKILL included; from the parent namespace only SIGKILL (and SIGSTOP) get through
/// (kernel/signal.c sig_task_ignored, SIGNAL_UNKILLABLE). A task inside cannot see t0.
#[test]
fn a_pid_namespace_init_ignores_default_signals() {
    let nsp = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWPID.0);
    let c = case(vec![
        clone(0, CloneEntry::Clone, nsp),
        kill(1, 1, Signal::SIGTERM),
        op(1, OpKind::Fork),
        kill(2, 1, Signal::SIGKILL),
        kill(2, 0, Signal::SIGTERM),
        kill(0, 1, Signal::SIGTERM),
        kill(0, 1, Signal::SIGKILL),
    ]);
    let m = known("signals_pidns_init", &c);
    assert_eq!(m.states[5].task(1).unwrap().state, TaskState::Live);
    assert_eq!(m.outcomes[4], Outcome::Err(Errno::ESRCH));
    assert_eq!(
        m.states[6].task(1).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGKILL))
    );
}

/// CLONE_FS shares cwd and umask both ways; fork copies them.
// covers: clone.fs
#[test]
fn clone_fs_shares_cwd_and_umask_fork_copies_them() {
    let vm_fs = CloneFlags(CloneFlags::VM.0 | CloneFlags::FS.0);
    let c = case(vec![
        clone(0, CloneEntry::Clone3, vm_fs),
        op(1, OpKind::Chdir { dir: CaseDir::D }),
        op(1, OpKind::Umask { mask: 0o077 }),
        op(0, OpKind::Fork),
        op(2, OpKind::Chdir { dir: CaseDir::DE }),
        op(2, OpKind::Umask { mask: 0o027 }),
        op(
            0,
            OpKind::Chdir {
                dir: CaseDir::Missing,
            },
        ),
        op(0, OpKind::Chdir { dir: CaseDir::Data }),
    ]);
    let m = known("fs_context_clone_fs_vs_fork", &c);
    let fs = |step: usize, t: TaskId| m.states[step].task(t).unwrap().fs_context.unwrap();
    assert_eq!(fs(1, 0).cwd, CaseDir::D);
    assert_eq!(m.outcomes[2], Outcome::Ret(0o022));
    assert_eq!(fs(2, 0).umask, 0o077);
    assert_eq!((fs(5, 0).cwd, fs(5, 0).umask), (CaseDir::D, 0o077));
    assert_eq!((fs(5, 2).cwd, fs(5, 2).umask), (CaseDir::DE, 0o027));
    assert_eq!(m.outcomes[6], Outcome::Err(Errno::ENOENT));
    assert_eq!(m.outcomes[7], Outcome::Err(Errno::ENOTDIR));
}

/// A new UTS namespace starts with its creator's host name; sethostname changes it for the
/// namespace alone. With CLONE_NEWUSER the namespaces are the case's own (capable, and no
/// privilege needed); the lab's own host name is never touched.
// covers: clone.namespaces
#[test]
fn clone_newuts_isolates_the_host_name() {
    let user_uts = CloneFlags(CloneFlags::NEWUSER.0 | CloneFlags::NEWUTS.0);
    let c = case(vec![
        clone(0, CloneEntry::Clone, user_uts),
        op(
            1,
            OpKind::Sethostname {
                name: HostName::Alpha,
            },
        ),
        op(1, OpKind::Uname),
        clone(1, CloneEntry::Clone3, CloneFlags::NEWUTS),
        op(2, OpKind::Uname),
        op(
            2,
            OpKind::Sethostname {
                name: HostName::Beta,
            },
        ),
        op(1, OpKind::Uname),
        op(2, OpKind::Uname),
        op(1, OpKind::Fork),
        op(3, OpKind::Uname),
    ]);
    let m = known("uts_newuts_isolation", &c);
    let data = |s: &str| Outcome::Data(s.as_bytes().to_vec());
    assert_eq!(m.outcomes[2], data("alpha"));
    assert_eq!(m.outcomes[4], data("alpha"), "copied from the creator");
    assert_eq!(m.outcomes[6], data("alpha"), "isolated");
    assert_eq!(m.outcomes[7], data("beta"));
    assert_eq!(m.outcomes[9], data("alpha"), "fork stays in the namespace");
    let ns = |t: TaskId| m.states[9].task(t).unwrap().namespaces.unwrap();
    assert_ne!(ns(0).uts, ns(1).uts);
    assert_ne!(ns(1).uts, ns(2).uts);
    assert_eq!(ns(1).uts, ns(3).uts);
    assert_eq!(ns(1).user, ns(2).user);
}

/// A signal sent to a process goes to a thread that does not block it (kernel/signal.c
/// complete_signal); when every thread blocks it, it pends for the group (ShdPnd, seen by
/// each thread) until one unblocks it. kill(2) of a thread's id signals its whole group;
/// SIGPIPE is the writing thread's own (SigPnd).
#[test]
fn process_signals_go_to_a_thread_that_takes_them() {
    let thread = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0 | CloneFlags::THREAD.0);
    let c = case(vec![
        sigaction(0, USR1, SigAction::Handler),
        op(
            0,
            OpKind::Clone(CloneOp {
                entry: CloneEntry::Clone,
                flags: thread,
                exit_signal: 0,
                args: Clone3Args::default(),
            }),
        ),
        mask(0, MaskHow::Block, &[USR1]),
        kill(0, 0, USR1),
        mask(1, MaskHow::Block, &[USR1, Signal::SIGPIPE]),
        kill(1, 0, USR1),
        mask(1, MaskHow::Unblock, &[USR1]),
        op(
            1,
            OpKind::Pipe2 {
                cloexec: false,
                nonblock: false,
            },
        ),
        op(1, OpKind::Close { fd: 0 }),
        op(
            1,
            OpKind::Write {
                fd: 1,
                data: vec![1],
            },
        ),
        op(0, OpKind::Fork),
        kill(2, 1, Signal::SIGTERM),
    ]);
    let m = known("signals_thread_group", &c);
    assert_eq!(
        signals(&m, 3, 0).shared_pending,
        SigSet::EMPTY,
        "t1 took it"
    );
    assert_eq!(signals(&m, 5, 0).shared_pending, set(&[USR1]));
    assert_eq!(signals(&m, 5, 1).shared_pending, set(&[USR1]));
    assert_eq!(signals(&m, 6, 1).shared_pending, SigSet::EMPTY);
    assert_eq!(m.outcomes[9], Outcome::Err(Errno::EPIPE));
    assert_eq!(signals(&m, 9, 1).pending, set(&[Signal::SIGPIPE]));
    assert_eq!(signals(&m, 9, 0).pending, SigSet::EMPTY);
    assert_eq!(
        m.states[11].task(0).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM))
    );
}

/// A fault signal is forced (kernel/signal.c force_sig_info_to_task): ignored or blocked, it
/// is reset to SIG_DFL — in the table a CLONE_SIGHAND sibling shares — and kills.
#[test]
fn a_fault_resets_an_ignored_sigsegv_for_the_whole_table() {
    let vm_sighand = CloneFlags(CloneFlags::VM.0 | CloneFlags::SIGHAND.0);
    let c = case(vec![
        sigaction(0, Signal::SIGSEGV, SigAction::Ignore),
        clone(0, CloneEntry::Clone, vm_sighand),
        mask(1, MaskHow::Block, &[Signal::SIGSEGV]),
        op(
            1,
            OpKind::MemRead {
                region: Region::AnonPrivate,
                page: 100,
            },
        ),
    ]);
    let m = known("signals_fault_is_forced", &c);
    assert_eq!(m.outcomes[3], Outcome::Killed(Signal::SIGSEGV));
    assert_eq!(signals(&m, 3, 0).ignored, SigSet::EMPTY);
}

/// A vfork parent waits killably: a caught signal stays pending until the child exits, a
/// fatal one kills it at once (kernel/fork.c wait_for_vfork_done).
#[test]
fn a_vfork_parent_takes_only_fatal_signals_until_it_resumes() {
    let c = case(vec![
        sigaction(0, USR1, SigAction::Handler),
        op(0, OpKind::Vfork),
        kill(1, 0, USR1),
        op(
            1,
            OpKind::Exit {
                code: 0,
                thread: false,
            },
        ),
        op(0, OpKind::Vfork),
        kill(2, 0, Signal::SIGTERM),
    ]);
    let m = known("signals_vfork_parent", &c);
    assert_eq!(signals(&m, 2, 0).shared_pending, set(&[USR1]));
    assert_eq!(signals(&m, 3, 0).shared_pending, SigSet::EMPTY);
    assert_eq!(
        m.states[5].task(0).unwrap().state,
        TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM))
    );
}
