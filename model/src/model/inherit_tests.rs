//! Unit tests of the inherited state: child subreaper, parent-death signal, close_range,
//! unshare, seccomp, timers.

use super::tests::clone_with;
use super::*;
use crate::obs::{Errno, ExitStatus, Outcome, Parent, Signal, TaskState};
use crate::op::{
    CloneEntry, CloneFlags, CloneOp, Itimer, OpKind, PrctlOption, SigAction, TimerClock,
    TimerNotify, TimerReport, UnshareFlags,
};

fn model() -> Model {
    Model::new(CaseConfig { pages: 8 }, &Profile::default())
}

fn run(m: &mut Model, task: TaskId, kind: OpKind) -> Outcome {
    let step = m.step(&Op { task, kind }, None);
    assert_eq!(step.allowed.first(), Some(&step.taken));
    step.taken
}

fn child(m: &mut Model, t: TaskId, kind: OpKind) -> TaskId {
    match run(m, t, kind) {
        Outcome::Child(c) => c,
        o => panic!("no child: {o:?}"),
    }
}

fn fork(m: &mut Model, t: TaskId) -> TaskId {
    child(m, t, OpKind::Fork)
}

fn thread(m: &mut Model, t: TaskId) -> TaskId {
    let flags = CloneFlags::VM | CloneFlags::FS | CloneFlags::FILES;
    let flags = flags | CloneFlags::SIGHAND | CloneFlags::THREAD;
    child(
        m,
        t,
        OpKind::Clone(CloneOp {
            entry: CloneEntry::Clone,
            flags,
            exit_signal: 0,
            args: Default::default(),
        }),
    )
}

fn prctl(m: &mut Model, t: TaskId, option: PrctlOption, arg: i64) -> Outcome {
    run(m, t, OpKind::Prctl { option, arg })
}

fn exit(m: &mut Model, t: TaskId, thread: bool) {
    assert_eq!(run(m, t, OpKind::Exit { code: 0, thread }), Outcome::Exited);
}

fn parent(m: &Model, t: TaskId) -> Parent {
    m.snapshot().task(t).expect("task in snapshot").parent
}

fn state(m: &Model, t: TaskId) -> Option<TaskState> {
    m.snapshot().task(t).map(|v| v.state)
}

const SUBREAPER: PrctlOption = PrctlOption::SetChildSubreaper;
const IS_SUBREAPER: PrctlOption = PrctlOption::GetChildSubreaper;
const PDEATHSIG: PrctlOption = PrctlOption::SetPdeathsig;
const GET_PDEATHSIG: PrctlOption = PrctlOption::GetPdeathsig;

// covers: task.subreaper
#[test]
fn orphans_go_to_the_nearest_live_subreaper() {
    let mut m = model();
    let t1 = fork(&mut m, 0);
    assert_eq!(prctl(&mut m, t1, SUBREAPER, 1), Outcome::Ret(0));
    let t2 = fork(&mut m, t1);
    assert_eq!(prctl(&mut m, t2, SUBREAPER, 1), Outcome::Ret(0));
    let t3 = fork(&mut m, t2);
    let t4 = fork(&mut m, t3);
    exit(&mut m, t3, false);
    assert_eq!(parent(&m, t4), Parent::Task(t2), "nearest subreaper");
    // A subreaper that exits passes its orphans up to the next one; past the last one they
    // go to the lab's.
    exit(&mut m, t2, false);
    assert_eq!(parent(&m, t4), Parent::Task(t1));
    assert_eq!(prctl(&mut m, t1, SUBREAPER, 0), Outcome::Ret(0));
    exit(&mut m, t1, false);
    assert_eq!(parent(&m, t4), Parent::Reaper);
}

// covers: task.subreaper
#[test]
fn the_subreaper_flag_is_per_process_not_inherited_and_kept_by_exec() {
    let mut m = model();
    assert_eq!(prctl(&mut m, 0, IS_SUBREAPER, 0), Outcome::Ret(0));
    prctl(&mut m, 0, SUBREAPER, 7);
    let th = thread(&mut m, 0);
    assert_eq!(
        prctl(&mut m, th, IS_SUBREAPER, 0),
        Outcome::Ret(1),
        "shared"
    );
    let c = fork(&mut m, th);
    assert_eq!(prctl(&mut m, c, IS_SUBREAPER, 0), Outcome::Ret(0));
    // A non-leader's exec keeps the process's signal_struct, flag included.
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(prctl(&mut m, th, IS_SUBREAPER, 0), Outcome::Ret(1));
}

// covers: task.pdeathsig
#[test]
fn pdeathsig_is_per_thread_cleared_in_children_and_kept_by_exec() {
    let mut m = model();
    assert_eq!(
        prctl(&mut m, 0, GET_PDEATHSIG, 0),
        Outcome::Ret(9),
        "the lab's t0"
    );
    let t1 = fork(&mut m, 0);
    assert_eq!(prctl(&mut m, t1, GET_PDEATHSIG, 0), Outcome::Ret(0));
    assert_eq!(prctl(&mut m, t1, PDEATHSIG, 15), Outcome::Ret(0));
    let th = thread(&mut m, t1);
    assert_eq!(prctl(&mut m, th, GET_PDEATHSIG, 0), Outcome::Ret(0));
    let t3 = fork(&mut m, t1);
    assert_eq!(prctl(&mut m, t3, GET_PDEATHSIG, 0), Outcome::Ret(0));
    assert_eq!(run(&mut m, t1, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(prctl(&mut m, t1, GET_PDEATHSIG, 0), Outcome::Ret(15));
    for bad in [65, -1, 1 << 40] {
        assert_eq!(
            prctl(&mut m, t1, PDEATHSIG, bad),
            Outcome::Err(Errno::EINVAL)
        );
    }
    assert_eq!(prctl(&mut m, t1, PDEATHSIG, 64), Outcome::Ret(0));
}

// covers: task.pdeathsig
#[test]
fn pdeathsig_fires_when_the_creating_thread_exits() {
    let mut m = model();
    let th = thread(&mut m, 0);
    let c = fork(&mut m, th);
    prctl(&mut m, c, PDEATHSIG, Signal::SIGTERM.0.into());
    let quiet = fork(&mut m, 0);
    prctl(&mut m, quiet, PDEATHSIG, Signal::SIGTERM.0.into());
    exit(&mut m, th, true);
    assert_eq!(
        state(&m, c),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM)))
    );
    assert_eq!(parent(&m, c), Parent::Task(0), "adopted by the live thread");
    assert_eq!(state(&m, quiet), Some(TaskState::Live), "its parent lives");
}

// covers: task.pdeathsig
#[test]
fn a_caught_or_ignored_pdeathsig_leaves_the_orphan_alive() {
    let mut m = model();
    let t1 = fork(&mut m, 0);
    let t2 = fork(&mut m, t1);
    let sig = Signal::SIGUSR1;
    run(
        &mut m,
        t2,
        OpKind::Sigaction {
            sig,
            action: SigAction::Handler,
            flags: Default::default(),
        },
    );
    prctl(&mut m, t2, PDEATHSIG, sig.0.into());
    exit(&mut m, t1, false);
    assert_eq!(state(&m, t2), Some(TaskState::Live));
    assert_eq!(parent(&m, t2), Parent::Reaper);
    assert_eq!(
        prctl(&mut m, t2, GET_PDEATHSIG, 0),
        Outcome::Ret(sig.0.into()),
        "kept after firing"
    );
}

// covers: task.subreaper
#[test]
fn an_adopted_zombie_is_released_by_a_subreaper_ignoring_sigchld() {
    let mut m = model();
    let t1 = fork(&mut m, 0);
    prctl(&mut m, t1, SUBREAPER, 1);
    let t2 = fork(&mut m, t1);
    // After the fork: t2 keeps the default disposition, so its own zombies stay.
    run(
        &mut m,
        t1,
        OpKind::Sigaction {
            sig: Signal::SIGCHLD,
            action: SigAction::Ignore,
            flags: Default::default(),
        },
    );
    let t3 = fork(&mut m, t2);
    exit(&mut m, t3, false);
    assert!(matches!(state(&m, t3), Some(TaskState::Zombie(_))));
    exit(&mut m, t2, false);
    assert_eq!(state(&m, t2), None, "t1 ignores SIGCHLD");
    assert_eq!(state(&m, t3), None, "released when adopted");
}

fn pipe(m: &mut Model, t: TaskId) {
    run(
        m,
        t,
        OpKind::Pipe2 {
            cloexec: false,
            nonblock: false,
        },
    );
}

fn close_range(m: &mut Model, t: TaskId, first: u32, last: u32, flags: (bool, bool)) -> Outcome {
    run(
        m,
        t,
        OpKind::CloseRange {
            first,
            last,
            cloexec: flags.0,
            unshare: flags.1,
        },
    )
}

fn fds(m: &Model, t: TaskId) -> Vec<(i32, bool)> {
    m.snapshot()
        .task(t)
        .expect("task")
        .fds
        .iter()
        .map(|f| (f.fd, f.cloexec))
        .collect()
}

fn files_class(m: &Model, t: TaskId) -> Option<u64> {
    m.snapshot().task(t)?.sharing?.files
}

// covers: fd.close-range
#[test]
fn close_range_closes_or_marks_and_unshare_keeps_the_sharers_fds() {
    let mut m = model();
    pipe(&mut m, 0);
    pipe(&mut m, 0);
    assert_eq!(
        close_range(&mut m, 0, 3, 2, (false, false)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(close_range(&mut m, 0, 1, 2, (true, false)), Outcome::Ret(0));
    assert_eq!(
        fds(&m, 0),
        vec![(0, false), (1, true), (2, true), (3, false)]
    );
    let sharer = clone_with(&mut m, 0, CloneFlags::FILES);
    assert_eq!(
        close_range(&mut m, 0, 2, u32::MAX, (false, true)),
        Outcome::Ret(0)
    );
    assert_eq!(fds(&m, 0), vec![(0, false), (1, true)]);
    assert_eq!(fds(&m, sharer).len(), 4, "the sharer keeps its table");
    assert_ne!(files_class(&m, 0), files_class(&m, sharer));
    // Without UNSHARE the shared table itself loses the fds.
    assert_eq!(
        close_range(&mut m, sharer, 0, 0, (false, false)),
        Outcome::Ret(0)
    );
    assert_eq!(fds(&m, sharer).len(), 3);
    assert_eq!(fds(&m, 0).len(), 2);
}

#[test]
fn close_range_cloexec_is_einval_before_5_11() {
    let p = Profile {
        kernel: (5, 10),
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    pipe(&mut m, 0);
    assert_eq!(
        close_range(&mut m, 0, 0, 5, (true, false)),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        close_range(&mut m, 0, 0, 5, (false, false)),
        Outcome::Ret(0)
    );
}

fn unshare(m: &mut Model, t: TaskId, flags: UnshareFlags) -> Outcome {
    run(m, t, OpKind::Unshare { flags })
}

// covers: task.unshare
#[test]
fn unshare_copies_shared_tables_and_refuses_what_it_cannot_take_back() {
    let mut m = model();
    pipe(&mut m, 0);
    let sharer = clone_with(&mut m, 0, CloneFlags::FILES | CloneFlags::FS);
    let files = UnshareFlags {
        files: true,
        ..Default::default()
    };
    assert_eq!(unshare(&mut m, sharer, files), Outcome::Ret(0));
    assert_ne!(files_class(&m, 0), files_class(&m, sharer));
    run(&mut m, sharer, OpKind::Close { fd: 0 });
    assert_eq!(fds(&m, 0).len(), 2, "the other side keeps its fds");
    let fs_of = |m: &Model, t| m.snapshot().task(t).unwrap().sharing.unwrap().fs;
    assert_eq!(fs_of(&m, 0), fs_of(&m, sharer));
    let newns = UnshareFlags {
        newns: true,
        ..Default::default()
    };
    assert_eq!(unshare(&mut m, 0, newns), Outcome::Ret(0));
    assert_ne!(fs_of(&m, 0), fs_of(&m, sharer), "NEWNS implies FS");
    // A thread in the group, a shared sighand or a shared mm make THREAD/SIGHAND/VM EINVAL.
    let vm = UnshareFlags {
        vm: true,
        ..Default::default()
    };
    let thread = UnshareFlags {
        thread: true,
        ..Default::default()
    };
    let sighand = UnshareFlags {
        sighand: true,
        ..Default::default()
    };
    assert_eq!(
        unshare(&mut m, sharer, vm),
        Outcome::Ret(0),
        "alone: nothing to do"
    );
    let vm_child = clone_with(&mut m, sharer, CloneFlags::VM);
    assert_eq!(unshare(&mut m, sharer, vm), Outcome::Err(Errno::EINVAL));
    assert_eq!(unshare(&mut m, sharer, sighand), Outcome::Ret(0));
    assert_eq!(unshare(&mut m, vm_child, thread), Outcome::Ret(0));
    let th = thread_of(&mut m, vm_child);
    assert_eq!(unshare(&mut m, th, thread), Outcome::Err(Errno::EINVAL));
    let sh = clone_with(&mut m, 0, CloneFlags::VM | CloneFlags::SIGHAND);
    assert_eq!(unshare(&mut m, sh, thread), Outcome::Ret(0));
    assert_eq!(unshare(&mut m, sh, sighand), Outcome::Err(Errno::EINVAL));
}

fn thread_of(m: &mut Model, t: TaskId) -> TaskId {
    thread(m, t)
}

// covers: task.unshare
#[test]
fn unshare_of_a_namespace_needs_cap_sys_admin() {
    let p = Profile {
        uid: 65534,
        cap_sys_admin: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    let uts = UnshareFlags {
        newuts: true,
        ..Default::default()
    };
    assert_eq!(unshare(&mut m, 0, uts), Outcome::Err(Errno::EPERM));
    let mut m = model();
    // Snapshots number namespaces by first appearance: compare with a task left behind.
    let other = fork(&mut m, 0);
    assert_eq!(unshare(&mut m, 0, uts), Outcome::Ret(0));
    let ns = |t| m.snapshot().task(t).unwrap().namespaces.unwrap();
    assert_ne!(ns(0).uts, ns(other).uts);
    assert_eq!(ns(0).mnt, ns(other).mnt);
}

// covers: sec.inherited
#[test]
fn no_new_privs_is_per_thread_and_inherited() {
    let mut m = model();
    let th = thread(&mut m, 0);
    assert_eq!(
        prctl(&mut m, 0, PrctlOption::SetNoNewPrivs, 0),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        prctl(&mut m, 0, PrctlOption::SetNoNewPrivs, 1),
        Outcome::Ret(0)
    );
    assert_eq!(
        prctl(&mut m, th, PrctlOption::GetNoNewPrivs, 0),
        Outcome::Ret(0)
    );
    let c = fork(&mut m, 0);
    assert_eq!(run(&mut m, c, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(
        prctl(&mut m, c, PrctlOption::GetNoNewPrivs, 0),
        Outcome::Ret(1)
    );
    assert_eq!(
        prctl(&mut m, c, PrctlOption::GetSeccomp, 0),
        Outcome::Ret(0)
    );
}

// covers: sec.inherited
#[test]
fn a_seccomp_filter_needs_no_new_privs_or_cap_sys_admin() {
    let p = Profile {
        uid: 65534,
        cap_sys_admin: false,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    let filter = OpKind::Seccomp {
        errno: Errno::EPERM,
    };
    assert_eq!(run(&mut m, 0, filter.clone()), Outcome::Err(Errno::EACCES));
    prctl(&mut m, 0, PrctlOption::SetNoNewPrivs, 1);
    assert_eq!(run(&mut m, 0, filter), Outcome::Ret(0));
    let umask = OpKind::Umask { mask: 0 };
    assert_eq!(run(&mut m, 0, umask.clone()), Outcome::Err(Errno::EPERM));
    // A runner's filter (forkspec restrict) is there from the start, with no_new_privs.
    let p = Profile {
        no_new_privs: true,
        seccomp_filter: true,
        ..p
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(
        prctl(&mut m, 0, PrctlOption::GetSeccomp, 0),
        Outcome::Ret(2)
    );
    assert_eq!(run(&mut m, 0, umask), Outcome::Ret(0o022));
}

// covers: task.pdeathsig
#[test]
fn a_pdeathsig_the_callers_kill_causes_may_come_after_the_call_returns() {
    let mut m = model();
    let t1 = fork(&mut m, 0);
    let t2 = fork(&mut m, t1);
    prctl(&mut m, t2, PDEATHSIG, Signal::SIGUSR1.0.into());
    let kill = OpKind::Kill {
        target: t1,
        sig: Signal::SIGTERM,
    };
    let step = m.step(
        &Op {
            task: t2,
            kind: kill,
        },
        None,
    );
    assert_eq!(
        step.allowed,
        vec![Outcome::Ret(0), Outcome::Killed(Signal::SIGUSR1)]
    );
    assert_eq!(
        state(&m, t2),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGUSR1)))
    );
}

// covers: task.pdeathsig
#[test]
fn a_process_dying_of_a_signal_drops_its_parent_death_signal() {
    let mut m = model();
    let t1 = fork(&mut m, 0);
    prctl(&mut m, t1, PDEATHSIG, Signal::SIGALRM.0.into());
    // kill(0, SIGTERM) queues SIGTERM for both before either dies: t1's exit code is fixed
    // then, and the SIGALRM its parent's death sends is dropped.
    let kill = OpKind::KillPgrp {
        pgid: None,
        sig: Signal::SIGTERM,
    };
    assert_eq!(run(&mut m, 0, kill), Outcome::Killed(Signal::SIGTERM));
    assert_eq!(
        state(&m, t1),
        Some(TaskState::Zombie(ExitStatus::Signaled(Signal::SIGTERM)))
    );
}

fn getitimer(m: &mut Model, t: TaskId, which: Itimer) -> Outcome {
    run(m, t, OpKind::Getitimer { which })
}

fn setitimer(m: &mut Model, t: TaskId, which: Itimer, value_s: u32, interval_s: u32) {
    let op = OpKind::Setitimer {
        which,
        value_s,
        interval_s,
    };
    assert_eq!(run(m, t, op), Outcome::Ret(0));
}

fn timer(armed: bool, interval_s: u32) -> Outcome {
    Outcome::Timer(TimerReport::new(armed, interval_s))
}

fn timer_create(m: &mut Model, t: TaskId, notify: TimerNotify) -> Outcome {
    let clock = TimerClock::Monotonic;
    run(m, t, OpKind::TimerCreate { clock, notify })
}

fn timer_settime(m: &mut Model, t: TaskId, timer: i32, value_s: u32, interval_s: u32) -> Outcome {
    let op = OpKind::TimerSettime {
        timer,
        value_s,
        interval_s,
    };
    run(m, t, op)
}

fn timer_gettime(m: &mut Model, t: TaskId, timer: i32) -> Outcome {
    run(m, t, OpKind::TimerGettime { timer })
}

// covers: timer.itimers
#[test]
fn itimers_and_alarm_are_per_process_none_after_fork_kept_by_exec() {
    let mut m = model();
    setitimer(&mut m, 0, Itimer::Real, 1000, 5);
    setitimer(&mut m, 0, Itimer::Virtual, 2000, 3);
    let th = thread(&mut m, 0);
    // A thread reads and sets the process's timers.
    assert_eq!(getitimer(&mut m, th, Itimer::Real), timer(true, 5));
    setitimer(&mut m, th, Itimer::Prof, 3000, 0);
    assert_eq!(getitimer(&mut m, 0, Itimer::Prof), timer(true, 0));
    let c = fork(&mut m, th);
    for which in Itimer::ALL {
        assert_eq!(getitimer(&mut m, c, which), timer(false, 0), "{which:?}");
    }
    assert_eq!(
        run(&mut m, c, OpKind::Alarm { seconds: 0 }),
        timer(false, 0)
    );
    // Exec by a thread keeps the process's timers.
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(getitimer(&mut m, th, Itimer::Real), timer(true, 5));
    assert_eq!(getitimer(&mut m, th, Itimer::Virtual), timer(true, 3));
    // A zero value disarms: ITIMER_REAL drops its interval, the CPU-time timers keep it.
    setitimer(&mut m, th, Itimer::Real, 0, 9);
    setitimer(&mut m, th, Itimer::Virtual, 0, 9);
    assert_eq!(getitimer(&mut m, th, Itimer::Real), timer(false, 0));
    assert_eq!(getitimer(&mut m, th, Itimer::Virtual), timer(false, 9));
    // alarm sets ITIMER_REAL without an interval and reports whether one was pending.
    assert_eq!(
        run(&mut m, th, OpKind::Alarm { seconds: 1000 }),
        timer(false, 0)
    );
    assert_eq!(
        run(&mut m, th, OpKind::Alarm { seconds: 1200 }),
        timer(true, 0)
    );
    setitimer(&mut m, th, Itimer::Real, 1000, 4);
    assert_eq!(
        run(&mut m, th, OpKind::Alarm { seconds: 0 }),
        timer(true, 0)
    );
    assert_eq!(getitimer(&mut m, th, Itimer::Real), timer(false, 0));
}

// covers: timer.posix
#[test]
fn posix_timers_are_per_process_not_inherited_and_deleted_by_exec() {
    let mut m = model();
    assert_eq!(
        timer_create(&mut m, 0, TimerNotify::Signal),
        Outcome::Ret(0)
    );
    let th = thread(&mut m, 0);
    assert_eq!(timer_create(&mut m, th, TimerNotify::None), Outcome::Ret(1));
    // A bad signal is EINVAL after the id was taken.
    let einval = Outcome::Err(Errno::EINVAL);
    assert_eq!(timer_create(&mut m, 0, TimerNotify::BadSignal), einval);
    assert_eq!(timer_settime(&mut m, th, 0, 1000, 2), Outcome::Ret(0));
    assert_eq!(timer_gettime(&mut m, 0, 0), timer(true, 2));
    assert_eq!(timer_gettime(&mut m, 0, 1), timer(false, 0));
    assert_eq!(timer_gettime(&mut m, 0, 2), einval);
    // The fork child has none; its own numbering starts at 0.
    let c = fork(&mut m, 0);
    assert_eq!(timer_gettime(&mut m, c, 0), einval);
    assert_eq!(run(&mut m, c, OpKind::TimerDelete { timer: 1 }), einval);
    assert_eq!(
        timer_create(&mut m, c, TimerNotify::Signal),
        Outcome::Ret(0)
    );
    assert_eq!(timer_gettime(&mut m, c, 0), timer(false, 0));
    assert_eq!(timer_gettime(&mut m, 0, 0), timer(true, 2));
    // A disarmed SIGEV_NONE timer still reads the expiry of its last arming.
    assert_eq!(timer_settime(&mut m, 0, 1, 1000, 0), Outcome::Ret(0));
    assert_eq!(timer_settime(&mut m, 0, 1, 0, 7), Outcome::Ret(0));
    assert_eq!(timer_gettime(&mut m, 0, 1), timer(true, 0));
    assert_eq!(timer_settime(&mut m, 0, 0, 0, 7), Outcome::Ret(0));
    assert_eq!(timer_gettime(&mut m, 0, 0), timer(false, 0));
    assert_eq!(
        run(&mut m, th, OpKind::TimerDelete { timer: 0 }),
        Outcome::Ret(0)
    );
    assert_eq!(timer_gettime(&mut m, 0, 0), einval);
    // Exec deletes the rest; the numbering goes on.
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(timer_gettime(&mut m, th, 1), einval);
    assert_eq!(timer_create(&mut m, th, TimerNotify::None), Outcome::Ret(3));
}

/// A thread that exits while its group lives notifies nobody: the parent gets SIGCHLD only
/// when the whole group is gone (kernel/exit.c `exit_notify`: `thread_group_leader(tsk)`
/// and `thread_group_empty`).
#[test]
fn a_thread_exit_sends_no_sigchld_until_the_group_is_gone() {
    let mut m = model();
    let mask = OpKind::Sigprocmask {
        how: crate::op::MaskHow::Block,
        set: vec![Signal::SIGCHLD],
    };
    assert_eq!(run(&mut m, 0, mask), Outcome::Ret(0));
    let c = fork(&mut m, 0);
    let th = thread(&mut m, c);
    exit(&mut m, th, true);
    let pending = |m: &Model| {
        let s = m.snapshot();
        s.task(0)
            .unwrap()
            .signals
            .as_ref()
            .unwrap()
            .shared_pending
            .signals()
    };
    assert_eq!(pending(&m), vec![]);
    exit(&mut m, c, true);
    assert_eq!(pending(&m), vec![Signal::SIGCHLD]);
}

fn altstack(m: &mut Model, t: TaskId, set: Option<crate::altstack::AltStackSet>) -> Outcome {
    run(m, t, OpKind::Sigaltstack { set })
}

fn alt_set(stack: u8, size: u32, flags: u32) -> Option<crate::altstack::AltStackSet> {
    Some(crate::altstack::AltStackSet { stack, size, flags })
}

fn alt_report(stack: Option<u8>, size: u64, flags: u32) -> Outcome {
    Outcome::AltStack(crate::altstack::AltStackReport { stack, size, flags })
}

// covers: sig.altstack
#[test]
fn sigaltstack_reports_the_old_setting_and_checks_flags_and_size() {
    use crate::altstack::{SS_AUTODISARM, SS_DISABLE, SS_ONSTACK};
    let mut m = model();
    // t0 starts without one (the lab disables the one Rust's start-up installs).
    assert_eq!(altstack(&mut m, 0, None), alt_report(None, 0, SS_DISABLE));
    assert_eq!(
        altstack(&mut m, 0, alt_set(1, 8192, 0)),
        alt_report(None, 0, SS_DISABLE)
    );
    assert_eq!(altstack(&mut m, 0, None), alt_report(Some(1), 8192, 0));
    // Bad modes are EINVAL; below MINSIGSTKSZ (2048) ENOMEM; neither changes the setting.
    for flags in [4, SS_ONSTACK | SS_DISABLE, 1 << 30] {
        assert_eq!(
            altstack(&mut m, 0, alt_set(2, 8192, flags)),
            Outcome::Err(Errno::EINVAL),
            "{flags:#x}"
        );
    }
    assert_eq!(
        altstack(&mut m, 0, alt_set(2, 2047, 0)),
        Outcome::Err(Errno::ENOMEM)
    );
    assert_eq!(
        altstack(&mut m, 0, alt_set(2, 0, SS_AUTODISARM)),
        Outcome::Err(Errno::ENOMEM)
    );
    // SS_ONSTACK in a set means 0; SS_AUTODISARM is kept and reported.
    assert_eq!(
        altstack(&mut m, 0, alt_set(2, 2048, SS_ONSTACK)),
        alt_report(Some(1), 8192, 0)
    );
    assert_eq!(
        altstack(&mut m, 0, alt_set(0, 4096, SS_AUTODISARM)),
        alt_report(Some(2), 2048, 0)
    );
    // SS_DISABLE drops stack and size whatever was given, and keeps SS_AUTODISARM.
    assert_eq!(
        altstack(&mut m, 0, alt_set(2, 1, SS_DISABLE | SS_AUTODISARM)),
        alt_report(Some(0), 4096, SS_AUTODISARM)
    );
    assert_eq!(
        altstack(&mut m, 0, None),
        alt_report(None, 0, SS_DISABLE | SS_AUTODISARM)
    );
}

// covers: sig.altstack
#[test]
fn sigaltstack_autodisarm_is_einval_before_linux_4_7() {
    let old = Profile {
        kernel: (4, 6),
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &old);
    assert_eq!(
        altstack(&mut m, 0, alt_set(0, 4096, crate::altstack::SS_AUTODISARM)),
        Outcome::Err(Errno::EINVAL)
    );
    let mut m = model();
    assert_eq!(
        altstack(&mut m, 0, alt_set(0, 4096, crate::altstack::SS_AUTODISARM)),
        alt_report(None, 0, crate::altstack::SS_DISABLE)
    );
}

// covers: sig.altstack
#[test]
fn fork_and_vfork_children_inherit_the_alternate_stack_and_clone_vm_children_do_not() {
    use crate::altstack::{SS_AUTODISARM, SS_DISABLE};
    let mut m = model();
    altstack(&mut m, 0, alt_set(1, 65536, SS_AUTODISARM));
    let set = alt_report(Some(1), 65536, SS_AUTODISARM);
    let none = alt_report(None, 0, SS_DISABLE);
    let f = fork(&mut m, 0);
    assert_eq!(altstack(&mut m, f, None), set);
    let th = thread(&mut m, 0);
    assert_eq!(altstack(&mut m, th, None), none);
    let vm = clone_with(&mut m, 0, CloneFlags::VM);
    assert_eq!(altstack(&mut m, vm, None), none);
    let vmv = clone_with(&mut m, 0, CloneFlags::VM | CloneFlags::VFORK);
    assert_eq!(altstack(&mut m, vmv, None), set);
    exit(&mut m, vmv, false);
    let v = child(&mut m, 0, OpKind::Vfork);
    assert_eq!(altstack(&mut m, v, None), set);
    // A child's setting is its own.
    altstack(&mut m, v, alt_set(2, 4096, 0));
    exit(&mut m, v, false);
    assert_eq!(altstack(&mut m, 0, None), set);
}

// covers: sig.altstack
#[test]
fn exec_clears_the_alternate_stack_but_keeps_autodisarm() {
    use crate::altstack::{SS_AUTODISARM, SS_DISABLE};
    let mut m = model();
    let c = fork(&mut m, 0);
    altstack(&mut m, 0, alt_set(1, 65536, SS_AUTODISARM));
    altstack(&mut m, c, alt_set(0, 4096, 0));
    assert_eq!(run(&mut m, 0, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(run(&mut m, c, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(
        altstack(&mut m, 0, None),
        alt_report(None, 0, SS_DISABLE | SS_AUTODISARM)
    );
    assert_eq!(altstack(&mut m, c, None), alt_report(None, 0, SS_DISABLE));
}

fn nobody() -> Profile {
    Profile {
        uid: 65534,
        cap_sys_admin: false,
        userns: false,
        rlimits: vec![
            crate::sched::RlimitStart {
                resource: crate::sched::RLIMIT_NICE,
                limit: crate::sched::Rlim { cur: 0, max: 0 },
            },
            crate::sched::RlimitStart {
                resource: crate::sched::RLIMIT_RTPRIO,
                limit: crate::sched::Rlim { cur: 0, max: 0 },
            },
        ],
        ..Profile::default()
    }
}

fn nice(m: &mut Model, t: TaskId, nice: i32) -> Outcome {
    run(m, t, OpKind::Setpriority { nice })
}

fn getnice(m: &mut Model, t: TaskId) -> Outcome {
    run(m, t, OpKind::Getpriority)
}

fn setsched(m: &mut Model, t: TaskId, policy: u32, priority: u32) -> Outcome {
    run(m, t, OpKind::SchedSetscheduler { policy, priority })
}

fn getsched(m: &mut Model, t: TaskId) -> Outcome {
    run(m, t, OpKind::SchedGetscheduler)
}

fn prlimit(m: &mut Model, t: TaskId, resource: u32, set: Option<(u64, u64)>) -> Outcome {
    let set = set.map(|(cur, max)| crate::sched::Rlim { cur, max });
    run(
        m,
        t,
        OpKind::Prlimit {
            resource,
            set,
            no_old: false,
        },
    )
}

fn rlim(cur: u64, max: u64) -> Outcome {
    Outcome::Rlimit(crate::sched::Rlim { cur, max })
}

// covers: inherit.nice
#[test]
fn nice_is_clamped_kept_by_fork_thread_and_exec_and_lowering_it_needs_privilege() {
    let mut m = model();
    assert_eq!(nice(&mut m, 0, 50), Outcome::Ret(0));
    assert_eq!(getnice(&mut m, 0), Outcome::Ret(19));
    assert_eq!(nice(&mut m, 0, -5), Outcome::Ret(0), "root may lower it");
    let f = fork(&mut m, 0);
    let th = thread(&mut m, 0);
    assert_eq!(getnice(&mut m, f), Outcome::Ret(-5));
    assert_eq!(getnice(&mut m, th), Outcome::Ret(-5));
    // Per thread: the thread's own change is not the process's.
    nice(&mut m, th, 3);
    assert_eq!(getnice(&mut m, 0), Outcome::Ret(-5));
    assert_eq!(run(&mut m, f, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(getnice(&mut m, f), Outcome::Ret(-5));
    assert_eq!(nice(&mut m, f, -100), Outcome::Ret(0));
    assert_eq!(getnice(&mut m, f), Outcome::Ret(-20));

    let mut u = Model::new(CaseConfig { pages: 8 }, &nobody());
    assert_eq!(nice(&mut u, 0, 4), Outcome::Ret(0));
    assert_eq!(
        nice(&mut u, 0, 4),
        Outcome::Ret(0),
        "the same value is no lowering"
    );
    assert_eq!(nice(&mut u, 0, 3), Outcome::Err(Errno::EACCES));
    assert_eq!(getnice(&mut u, 0), Outcome::Ret(4));
    // RLIMIT_NICE 17 allows down to 20 - 17 = 3.
    prlimit(&mut u, 0, crate::sched::RLIMIT_NICE, Some((0, 0)));
    let mut p = nobody();
    p.rlimits[0].limit = crate::sched::Rlim { cur: 17, max: 17 };
    p.nice = 5;
    let mut r = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(getnice(&mut r, 0), Outcome::Ret(5), "the lab's own nice");
    assert_eq!(nice(&mut r, 0, 2), Outcome::Err(Errno::EACCES));
    assert_eq!(nice(&mut r, 0, 3), Outcome::Ret(0));
}

// covers: inherit.sched-policy
#[test]
fn policies_are_checked_inherited_and_kept_by_exec() {
    use crate::sched::*;
    let mut m = model();
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(0));
    for (policy, prio) in [(SCHED_OTHER, 1), (SCHED_FIFO, 0), (SCHED_RR, 100), (4, 0)] {
        assert_eq!(
            setsched(&mut m, 0, policy, prio),
            Outcome::Err(Errno::EINVAL),
            "{policy} {prio}"
        );
    }
    assert_eq!(
        setsched(&mut m, 0, SCHED_DEADLINE, 0),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(
        setsched(&mut m, 0, 0x8000_0000, 0),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(setsched(&mut m, 0, SCHED_BATCH, 0), Outcome::Ret(0));
    let f = fork(&mut m, 0);
    assert_eq!(getsched(&mut m, f), Outcome::Ret(i64::from(SCHED_BATCH)));
    assert_eq!(setsched(&mut m, 0, SCHED_RR, 7), Outcome::Ret(0));
    let th = thread(&mut m, 0);
    assert_eq!(getsched(&mut m, th), Outcome::Ret(i64::from(SCHED_RR)));
    assert_eq!(run(&mut m, 0, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(i64::from(SCHED_RR)));

    // Unprivileged: no RT policy with RLIMIT_RTPRIO 0, no way back out of SCHED_IDLE with
    // RLIMIT_NICE 0; BATCH and IDLE are free.
    let mut u = Model::new(CaseConfig { pages: 8 }, &nobody());
    assert_eq!(
        setsched(&mut u, 0, SCHED_FIFO, 1),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(
        setsched(&mut u, 0, SCHED_FIFO, 0),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(setsched(&mut u, 0, SCHED_BATCH, 0), Outcome::Ret(0));
    assert_eq!(setsched(&mut u, 0, SCHED_OTHER, 0), Outcome::Ret(0));
    assert_eq!(setsched(&mut u, 0, SCHED_IDLE, 0), Outcome::Ret(0));
    assert_eq!(setsched(&mut u, 0, SCHED_IDLE, 0), Outcome::Ret(0));
    assert_eq!(
        setsched(&mut u, 0, SCHED_OTHER, 0),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(getsched(&mut u, 0), Outcome::Ret(i64::from(SCHED_IDLE)));
    // With RLIMIT_RTPRIO 5: FIFO up to 5, and a lower priority once there.
    let mut p = nobody();
    p.rlimits[1].limit = crate::sched::Rlim { cur: 5, max: 5 };
    p.rlimits[0].limit = crate::sched::Rlim { cur: 20, max: 20 };
    let mut r = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(
        setsched(&mut r, 0, SCHED_FIFO, 6),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(setsched(&mut r, 0, SCHED_FIFO, 5), Outcome::Ret(0));
    assert_eq!(setsched(&mut r, 0, SCHED_FIFO, 2), Outcome::Ret(0));
    assert_eq!(setsched(&mut r, 0, SCHED_RR, 3), Outcome::Ret(0));
    // RLIMIT_NICE 20 allows nice 0: leaving SCHED_IDLE is then allowed.
    assert_eq!(setsched(&mut r, 0, SCHED_IDLE, 0), Outcome::Ret(0));
    assert_eq!(setsched(&mut r, 0, SCHED_OTHER, 0), Outcome::Ret(0));
}

// covers: inherit.reset-on-fork
#[test]
fn reset_on_fork_gives_children_normal_policy_and_nonnegative_nice_once() {
    use crate::sched::*;
    let mut m = model();
    nice(&mut m, 0, -7);
    let rt = SCHED_FIFO | SCHED_RESET_ON_FORK;
    assert_eq!(setsched(&mut m, 0, rt, 10), Outcome::Ret(0));
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(i64::from(rt)));
    let f = fork(&mut m, 0);
    assert_eq!(
        getsched(&mut m, f),
        Outcome::Ret(0),
        "RT → NORMAL, flag cleared"
    );
    assert_eq!(getnice(&mut m, f), Outcome::Ret(0));
    let th = thread(&mut m, 0);
    assert_eq!(getsched(&mut m, th), Outcome::Ret(0));
    let v = child(&mut m, 0, OpKind::Vfork);
    assert_eq!(getsched(&mut m, v), Outcome::Ret(0));
    assert_eq!(run(&mut m, v, OpKind::Exec), Outcome::Ret(0));
    // The caller keeps its flag, through exec too.
    assert_eq!(run(&mut m, 0, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(i64::from(rt)));
    assert_eq!(getnice(&mut m, 0), Outcome::Ret(-7));
    // A positive nice of an RT parent is reset to 0 too; of a fair one it is kept.
    nice(&mut m, 0, 6);
    let g = fork(&mut m, 0);
    assert_eq!(getnice(&mut m, g), Outcome::Ret(0));
    let batch = SCHED_BATCH | SCHED_RESET_ON_FORK;
    assert_eq!(setsched(&mut m, 0, batch, 0), Outcome::Ret(0));
    let h = fork(&mut m, 0);
    assert_eq!(getsched(&mut m, h), Outcome::Ret(i64::from(SCHED_BATCH)));
    assert_eq!(getnice(&mut m, h), Outcome::Ret(6));
    nice(&mut m, 0, -3);
    let k = fork(&mut m, 0);
    assert_eq!(getnice(&mut m, k), Outcome::Ret(0));
    // Root may clear the flag.
    assert_eq!(setsched(&mut m, 0, SCHED_OTHER, 0), Outcome::Ret(0));
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(0));

    // Unprivileged: setting the flag is free, clearing it is EPERM (also with the same
    // policy).
    let mut u = Model::new(CaseConfig { pages: 8 }, &nobody());
    let other = SCHED_OTHER | SCHED_RESET_ON_FORK;
    assert_eq!(setsched(&mut u, 0, other, 0), Outcome::Ret(0));
    assert_eq!(
        setsched(&mut u, 0, SCHED_OTHER, 0),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(
        setsched(&mut u, 0, SCHED_BATCH, 0),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(setsched(&mut u, 0, batch, 0), Outcome::Ret(0));
    let c = fork(&mut u, 0);
    assert_eq!(getsched(&mut u, c), Outcome::Ret(i64::from(SCHED_BATCH)));
    assert_eq!(setsched(&mut u, c, SCHED_OTHER, 0), Outcome::Ret(0));
}

// covers: inherit.personality
#[test]
fn personality_is_per_thread_inherited_and_exec_clears_read_implies_exec() {
    use crate::sched::*;
    let mut m = model();
    let q = |m: &mut Model, t| {
        run(
            m,
            t,
            OpKind::Personality {
                persona: PERSONALITY_QUERY,
            },
        )
    };
    let set = |m: &mut Model, t, persona| run(m, t, OpKind::Personality { persona });
    assert_eq!(q(&mut m, 0), Outcome::Ret(0));
    let p = ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC | 0x8;
    assert_eq!(set(&mut m, 0, p), Outcome::Ret(0));
    assert_eq!(q(&mut m, 0), Outcome::Ret(i64::from(p)));
    let f = fork(&mut m, 0);
    let th = thread(&mut m, 0);
    assert_eq!(q(&mut m, f), Outcome::Ret(i64::from(p)));
    assert_eq!(set(&mut m, th, 0), Outcome::Ret(i64::from(p)));
    assert_eq!(q(&mut m, 0), Outcome::Ret(i64::from(p)), "per thread");
    assert_eq!(run(&mut m, f, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(
        q(&mut m, f),
        Outcome::Ret(i64::from(ADDR_NO_RANDOMIZE | 0x8)),
        "exec clears READ_IMPLIES_EXEC only"
    );
}

// covers: inherit.rlimit
#[test]
fn rlimits_are_per_process_inherited_kept_by_exec_and_checked() {
    use crate::sched::*;
    let mut m = model();
    let inf = u64::MAX;
    assert_eq!(prlimit(&mut m, 0, RLIMIT_LOCKS, None), rlim(inf, inf));
    assert_eq!(
        prlimit(&mut m, 0, RLIMIT_LOCKS, Some((5, 4))),
        Outcome::Err(Errno::EINVAL)
    );
    assert_eq!(prlimit(&mut m, 0, 16, None), Outcome::Err(Errno::EINVAL));
    assert_eq!(
        prlimit(&mut m, 0, RLIMIT_LOCKS, Some((3, 9))),
        rlim(inf, inf)
    );
    let th = thread(&mut m, 0);
    assert_eq!(prlimit(&mut m, th, RLIMIT_LOCKS, Some((2, 9))), rlim(3, 9));
    assert_eq!(
        prlimit(&mut m, 0, RLIMIT_LOCKS, None),
        rlim(2, 9),
        "per process"
    );
    let f = fork(&mut m, th);
    assert_eq!(prlimit(&mut m, f, RLIMIT_LOCKS, Some((1, 1))), rlim(2, 9));
    assert_eq!(prlimit(&mut m, 0, RLIMIT_LOCKS, None), rlim(2, 9));
    // Exec by a thread keeps the process's limits.
    assert_eq!(run(&mut m, th, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(prlimit(&mut m, th, RLIMIT_LOCKS, None), rlim(2, 9));
    // Root may raise a hard limit, nobody may not (but may raise a soft one to it).
    assert_eq!(prlimit(&mut m, th, RLIMIT_LOCKS, Some((2, 10))), rlim(2, 9));
    let mut u = Model::new(CaseConfig { pages: 8 }, &nobody());
    prlimit(&mut u, 0, RLIMIT_MSGQUEUE, Some((5, 8)));
    assert_eq!(
        prlimit(&mut u, 0, RLIMIT_MSGQUEUE, Some((5, 9))),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(
        prlimit(&mut u, 0, RLIMIT_MSGQUEUE, Some((8, 8))),
        rlim(5, 8)
    );
    assert_eq!(prlimit(&mut u, 0, RLIMIT_NICE, None), rlim(0, 0));
    // setrlimit's form: no old limits, 0.
    let set = |resource, cur, max, no_old| OpKind::Prlimit {
        resource,
        set: Some(crate::sched::Rlim { cur, max }),
        no_old,
    };
    assert_eq!(
        run(&mut u, 0, set(RLIMIT_LOCKS, 3, 3, true)),
        Outcome::Ret(0)
    );
    assert_eq!(
        run(&mut u, 0, set(RLIMIT_LOCKS, 3, 4, true)),
        Outcome::Err(Errno::EPERM)
    );
    assert_eq!(run(&mut u, 0, set(RLIMIT_LOCKS, 2, 3, false)), rlim(3, 3));
}

// covers: fork.rlimit-nproc
#[test]
fn rlimit_nproc_zero_or_one_refuses_every_new_task_of_an_unprivileged_user() {
    use crate::sched::*;
    let mut u = Model::new(CaseConfig { pages: 8 }, &nobody());
    let keep = fork(&mut u, 0);
    prlimit(&mut u, 0, RLIMIT_NPROC, Some((1, inf())));
    assert_eq!(run(&mut u, 0, OpKind::Fork), Outcome::Err(Errno::EAGAIN));
    assert_eq!(run(&mut u, 0, OpKind::Vfork), Outcome::Err(Errno::EAGAIN));
    let th = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone3,
        flags: CloneFlags::VM | CloneFlags::SIGHAND | CloneFlags::THREAD,
        exit_signal: 0,
        args: Default::default(),
    });
    assert_eq!(run(&mut u, 0, th.clone()), Outcome::Err(Errno::EAGAIN));
    // Flag errors come first.
    let bad = OpKind::Clone(CloneOp {
        entry: CloneEntry::Clone,
        flags: CloneFlags::THREAD,
        exit_signal: 0,
        args: Default::default(),
    });
    assert_eq!(run(&mut u, 0, bad.clone()), Outcome::Err(Errno::EINVAL));
    // The soft limit counts, and the process's other tasks are not limited by it.
    assert!(matches!(run(&mut u, keep, OpKind::Fork), Outcome::Child(_)));
    prlimit(&mut u, 0, RLIMIT_NPROC, Some((100_000, inf())));
    assert!(matches!(run(&mut u, 0, OpKind::Fork), Outcome::Child(_)));
    prlimit(&mut u, 0, RLIMIT_NPROC, Some((0, 0)));
    assert_eq!(run(&mut u, 0, OpKind::Fork), Outcome::Err(Errno::EAGAIN));
    assert_eq!(
        prlimit(&mut u, 0, RLIMIT_NPROC, Some((0, 1))),
        Outcome::Err(Errno::EPERM)
    );

    // Root (the initial namespace's root user) is never refused.
    let mut m = model();
    prlimit(&mut m, 0, RLIMIT_NPROC, Some((0, 0)));
    assert!(matches!(run(&mut m, 0, OpKind::Fork), Outcome::Child(_)));
    assert!(matches!(run(&mut m, 0, th), Outcome::Child(_)));
    // Nor is an unprivileged uid with CAP_SYS_RESOURCE.
    let mut p = nobody();
    p.cap_sys_resource = Some(true);
    let mut r = Model::new(CaseConfig { pages: 8 }, &p);
    prlimit(&mut r, 0, RLIMIT_NPROC, Some((0, 0)));
    assert!(matches!(run(&mut r, 0, OpKind::Fork), Outcome::Child(_)));
}

fn inf() -> u64 {
    crate::sched::RLIM_INFINITY
}

// covers: inherit.affinity
#[test]
fn affinity_is_cut_to_usable_cpus_per_thread_inherited_and_kept_by_exec() {
    let p = Profile {
        cpus: 2,
        affinity: 1,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    let set = |m: &mut Model, t, cpus| run(m, t, OpKind::SchedSetaffinity { cpus });
    let get = |m: &mut Model, t| run(m, t, OpKind::SchedGetaffinity);
    assert_eq!(get(&mut m, 0), Outcome::Ret(1), "the lab's own CPU");
    assert_eq!(
        set(&mut m, 0, 4),
        Outcome::Err(Errno::EINVAL),
        "no usable CPU"
    );
    assert_eq!(set(&mut m, 0, 0), Outcome::Err(Errno::EINVAL));
    assert_eq!(set(&mut m, 0, 0b110), Outcome::Ret(0));
    assert_eq!(get(&mut m, 0), Outcome::Ret(2), "cut to the usable CPUs");
    let f = fork(&mut m, 0);
    let th = thread(&mut m, 0);
    assert_eq!(get(&mut m, f), Outcome::Ret(2));
    assert_eq!(set(&mut m, th, 3), Outcome::Ret(0));
    assert_eq!(get(&mut m, 0), Outcome::Ret(2), "per thread");
    assert_eq!(run(&mut m, f, OpKind::Exec), Outcome::Ret(0));
    assert_eq!(get(&mut m, f), Outcome::Ret(2), "kept by exec");
    // A profile without CPU facts: one CPU, all of it.
    let mut d = model();
    assert_eq!(get(&mut d, 0), Outcome::Ret(1));
    assert_eq!(set(&mut d, 0, 2), Outcome::Err(Errno::EINVAL));
    // Unprivileged tasks may set their own.
    let mut u = Model::new(
        CaseConfig { pages: 8 },
        &Profile {
            cpus: 2,
            ..nobody()
        },
    );
    assert_eq!(set(&mut u, 0, 2), Outcome::Ret(0));
}

// covers: inherit.nice, inherit.reset-on-fork
/// The lab's tasks start with the lab's own nice, policy and persona; a policy given with
/// `SCHED_RESET_ON_FORK` keeps the flag apart from the policy; a fork child of a task of a
/// normal class keeps the policy and a non-negative nice and loses the flag (sched_fork).
#[test]
fn tasks_start_with_the_labs_nice_policy_and_persona() {
    use crate::sched::{SCHED_BATCH, SCHED_RESET_ON_FORK};
    let p = Profile {
        nice: 3,
        sched_policy: SCHED_BATCH,
        personality: 0x40000,
        ..Profile::default()
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &p);
    assert_eq!(getnice(&mut m, 0), Outcome::Ret(3));
    assert_eq!(getsched(&mut m, 0), Outcome::Ret(i64::from(SCHED_BATCH)));
    let query = OpKind::Personality {
        persona: 0xffff_ffff,
    };
    assert_eq!(run(&mut m, 0, query), Outcome::Ret(0x40000));
    let reset = Profile {
        sched_policy: SCHED_BATCH | SCHED_RESET_ON_FORK,
        ..p
    };
    let mut m = Model::new(CaseConfig { pages: 8 }, &reset);
    assert_eq!(
        getsched(&mut m, 0),
        Outcome::Ret(i64::from(SCHED_BATCH | SCHED_RESET_ON_FORK))
    );
    let f = fork(&mut m, 0);
    assert_eq!(getsched(&mut m, f), Outcome::Ret(i64::from(SCHED_BATCH)));
    assert_eq!(getnice(&mut m, f), Outcome::Ret(3));
}

// covers: fd.close-range
/// The last fd a case can have (1023, under RLIMIT_NOFILE 1024) is in reach of
/// close_range; a range starting past it closes nothing and succeeds.
#[test]
fn close_range_reaches_the_last_fd_and_a_range_past_it_is_a_no_op() {
    let mut m = model();
    let open = OpKind::Open {
        file: crate::op::FileName::A,
        flags: crate::op::OpenFlags {
            creat: true,
            ..Default::default()
        },
    };
    assert_eq!(run(&mut m, 0, open), Outcome::Ret(0));
    let dup2 = OpKind::Dup2 { old: 0, new: 1023 };
    assert_eq!(run(&mut m, 0, dup2), Outcome::Ret(1023));
    assert_eq!(
        close_range(&mut m, 0, 1024, u32::MAX, (false, false)),
        Outcome::Ret(0)
    );
    let getfd = |fd| OpKind::Fcntl {
        fd,
        cmd: crate::op::FcntlCmd::GetFd,
    };
    assert_eq!(run(&mut m, 0, getfd(1023)), Outcome::Ret(0));
    assert_eq!(
        close_range(&mut m, 0, 1023, 1023, (false, false)),
        Outcome::Ret(0)
    );
    assert_eq!(run(&mut m, 0, getfd(1023)), Outcome::Err(Errno::EBADF));
    assert_eq!(run(&mut m, 0, getfd(0)), Outcome::Ret(0));
}
