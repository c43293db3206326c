//! Process groups and sessions: `setpgid`, `getpgid`, `setsid`, `getsid` and `kill` to a
//! group (kernel/sys.c, kernel/signal.c; setpgid(2), setsid(2), getsid(2), kill(2)).
//!
//! A group and a session are named by the pid of the task that created them (their leader);
//! `None` is the lab's: the lab makes `t0` a group leader in its own session, so `t0` starts in
//! group `Some(0)` of session `None`. Both ids live in the thread group's `signal_struct`
//! (`signal->pids[PIDTYPE_PGID]`, `[PIDTYPE_SID]`): the model keeps them on the thread group
//! leader and every thread reads its leader's.

use super::Model;
use crate::obs::{Errno, Outcome, PidRef, Signal, TaskState};
use crate::op::TaskId;

/// A process group or session id: the pid of a task of the case, or `None` for the lab's.
pub(super) type GroupId = Option<TaskId>;

impl Model {
    /// The process group of `t`'s thread group.
    pub(super) fn pgrp_of(&self, t: TaskId) -> GroupId {
        self.tasks[self.tasks[t as usize].tgid as usize].pgrp
    }

    /// The session of `t`'s thread group.
    pub(super) fn session_of(&self, t: TaskId) -> GroupId {
        self.tasks[self.tasks[t as usize].tgid as usize].sid
    }

    /// `pid_vnr`: how task `t`'s pid namespace numbers group or session `g`.
    pub(super) fn pid_ref(&self, t: TaskId, g: GroupId) -> PidRef {
        let ns = self.tasks[t as usize].pidns;
        match g {
            Some(l) if self.in_pidns(l as usize, ns) => PidRef::Task(l),
            None if ns == 0 => PidRef::Outside,
            _ => PidRef::Invisible,
        }
    }

    /// `find_task_by_vpid`: the task `label` names for `t`, when the harness passes it a pid
    /// (not reaped: released tasks are unhashed) that `t`'s pid namespace sees.
    fn find_by_vpid(&self, t: TaskId, label: TaskId) -> Option<TaskId> {
        let x = self.tasks.get(label as usize)?;
        let ns = self.tasks[t as usize].pidns;
        (!x.reaped && self.in_pidns(label as usize, ns)).then_some(label)
    }

    /// The processes (thread group leaders not yet released, zombies included) of group `g`:
    /// what `do_each_pid_task(pgrp, PIDTYPE_PGID)` walks.
    fn members(&self, g: TaskId) -> Vec<TaskId> {
        (0..self.tasks.len() as TaskId)
            .filter(|&i| {
                let x = &self.tasks[i as usize];
                !x.reaped && x.tgid == i && x.pgrp == Some(g)
            })
            .collect()
    }

    // rule: pgrp.getpgid-getsid
    /// `getpgid(pid)` and `getsid(pid)` (kernel/sys.c): 0 asks about the caller; otherwise
    /// the task with that pid in the caller's pid namespace (any task, not only a child; a
    /// thread answers for its thread group), else ESRCH. The id is returned as the caller's
    /// namespace numbers it (`pid_vnr`), 0 when it has no number there.
    pub(super) fn op_getpgid(&mut self, t: TaskId, target: Option<TaskId>, sid: bool) -> Outcome {
        let p = match target {
            None => t,
            Some(l) => match self.find_by_vpid(t, l) {
                Some(p) => p,
                None => return Outcome::Err(Errno::ESRCH),
            },
        };
        let g = if sid {
            self.session_of(p)
        } else {
            self.pgrp_of(p)
        };
        Outcome::Pid(self.pid_ref(t, g))
    }

    // rule: pgrp.setpgid
    /// `setpgid(pid, pgid)` (kernel/sys.c, unchanged since before 5.10): `pid` 0 is the
    /// caller's thread group, `pgid` 0 is `pid`. ESRCH when no task has `pid`; EINVAL when it
    /// is not a thread group leader. A child of the caller's thread group must be in the
    /// caller's session (EPERM) and must not have exec'd since its fork (EACCES, the child's
    /// `PF_FORKNOEXEC` is clear); any other task than the caller itself is ESRCH. A session
    /// leader cannot move (EPERM). Joining another group needs a group with id `pgid` in the
    /// caller's session (EPERM). The move changes the whole thread group (its
    /// `signal_struct`), zombies included.
    pub(super) fn op_setpgid(
        &mut self,
        t: TaskId,
        target: Option<TaskId>,
        pgid: Option<TaskId>,
    ) -> Outcome {
        let me = self.tasks[t as usize].tgid;
        let p = match target {
            None => me,
            Some(l) => match self.find_by_vpid(t, l) {
                Some(p) => p,
                None => return Outcome::Err(Errno::ESRCH),
            },
        };
        if self.tasks[p as usize].tgid != p {
            return Outcome::Err(Errno::EINVAL);
        }
        let parent_group = match self.tasks[p as usize].parent {
            crate::obs::Parent::Task(x) => Some(self.tasks[x as usize].tgid),
            crate::obs::Parent::Reaper => None,
        };
        if parent_group == Some(me) {
            if self.session_of(p) != self.session_of(me) {
                return Outcome::Err(Errno::EPERM);
            }
            if !self.tasks[p as usize].forknoexec {
                return Outcome::Err(Errno::EACCES);
            }
        } else if p != me {
            return Outcome::Err(Errno::ESRCH);
        }
        if self.tasks[p as usize].session_leader {
            return Outcome::Err(Errno::EPERM);
        }
        let group = pgid.unwrap_or(p);
        if group != p {
            // find_vpid(pgid) then pid_task(.., PIDTYPE_PGID): a group with that id must
            // exist, seen from the caller, in the caller's session.
            let found = self
                .find_by_vpid(t, group)
                .and_then(|_| self.members(group).first().copied());
            match found {
                Some(g) if self.session_of(g) == self.session_of(me) => {}
                _ => return Outcome::Err(Errno::EPERM),
            }
        }
        self.tasks[p as usize].pgrp = Some(group);
        Outcome::Ret(0)
    }

    // rule: pgrp.setsid
    /// `setsid()` (kernel/sys.c `ksys_setsid`): acts on the caller's thread group; EPERM when
    /// it leads a session already or when a process group with its pid exists (it leads
    /// one, or its old group still has members). Otherwise it leads a new session and a new
    /// group, both with its pid, and returns that pid.
    pub(super) fn op_setsid(&mut self, t: TaskId) -> Outcome {
        let me = self.tasks[t as usize].tgid;
        if self.tasks[me as usize].session_leader || !self.members(me).is_empty() {
            return Outcome::Err(Errno::EPERM);
        }
        let leader = &mut self.tasks[me as usize];
        leader.session_leader = true;
        leader.pgrp = Some(me);
        leader.sid = Some(me);
        Outcome::Pid(self.pid_ref(t, Some(me)))
    }

    // rule: pgrp.kill-group
    /// `kill(0, sig)` and `kill(-pgid, sig)` (kernel/signal.c `__kill_pgrp_info`): ESRCH when
    /// no group has that id in the caller's pid namespace or the group is empty; else the
    /// signal goes to every process of the group (the caller's own included, zombies take
    /// nothing), each checked by `group_send_sig_info` (EINVAL for a number outside 0..=64;
    /// every task of a case has the same uid, so no EPERM); the call succeeds when one send
    /// did. Signal 0 sends nothing. A process in a pid namespace where the caller has no pid
    /// gets the signal forced (SIGKILL reaches a namespace init).
    pub(super) fn op_kill_pgrp(&mut self, t: TaskId, pgid: Option<TaskId>, sig: Signal) -> Outcome {
        let group = match pgid {
            None => self.pgrp_of(t),
            Some(l) if self.numbered_one(t, l) => return self.op_kill_all(t, sig),
            Some(l) => match self.find_by_vpid(t, l) {
                Some(_) => Some(l),
                None => return Outcome::Err(Errno::ESRCH),
            },
        };
        // The lab's own group has no case task in it (t0 leaves it before the first op).
        let Some(group) = group else {
            return Outcome::Err(Errno::ESRCH);
        };
        let members = self.members(group);
        if members.is_empty() {
            return Outcome::Err(Errno::ESRCH);
        }
        if !(0..=64).contains(&sig.0) {
            return Outcome::Err(Errno::EINVAL);
        }
        if sig.0 == 0 {
            return Outcome::Ret(0);
        }
        let caller = t as usize;
        for m in members {
            let force = !self.in_pidns(caller, self.tasks[m as usize].pidns);
            if matches!(self.tasks[m as usize].state, TaskState::Zombie(_)) {
                continue;
            }
            self.send_signal(m, sig.0, true, force);
        }
        Outcome::Ret(0)
    }

    /// Whether `t`'s pid namespace numbers task `l` 1: `l` is that namespace's init.
    pub(super) fn numbered_one(&self, t: TaskId, l: TaskId) -> bool {
        // A label no task has (a hand-written case) names no init.
        let Some(x) = self.tasks.get(l as usize) else {
            return false;
        };
        x.ns_init && x.tgid == l && x.pidns == self.tasks[t as usize].pidns
    }

    // rule: pgrp.kill-minus-one
    /// `kill(-1, sig)`: a group led by the caller's pid namespace init has id 1 there, and
    /// `kill(-1, sig)` is no kill to a group (kernel/signal.c `kill_something_info`): the
    /// signal goes to every process the caller's namespace numbers above 1 (zombies
    /// included, which take nothing), except the caller's own thread group; ESRCH when there
    /// is none, else the last send's answer (EINVAL for a number outside 0..=64).
    fn op_kill_all(&mut self, t: TaskId, sig: Signal) -> Outcome {
        let ns = self.tasks[t as usize].pidns;
        let me = self.tasks[t as usize].tgid;
        let targets: Vec<TaskId> = (0..self.tasks.len() as TaskId)
            .filter(|&i| {
                let x = &self.tasks[i as usize];
                !x.reaped
                    && x.tgid == i
                    && i != me
                    && self.in_pidns(i as usize, ns)
                    && !self.numbered_one(t, i)
            })
            .collect();
        if targets.is_empty() {
            return Outcome::Err(Errno::ESRCH);
        }
        if !(0..=64).contains(&sig.0) {
            return Outcome::Err(Errno::EINVAL);
        }
        for p in targets {
            let force = !self.in_pidns(t as usize, self.tasks[p as usize].pidns);
            if sig.0 != 0 && !matches!(self.tasks[p as usize].state, TaskState::Zombie(_)) {
                self.send_signal(p, sig.0, true, force);
            }
        }
        Outcome::Ret(0)
    }

    /// `de_thread`: thread `t` took over the pid of its old leader `old`, and with it the
    /// thread group's group and session ids (`transfer_pid` of PIDTYPE_PGID and SID); a
    /// group or session named by the old leader's pid is now named by `t`'s.
    pub(super) fn groups_take_over(&mut self, t: TaskId, old: TaskId) {
        let (pgrp, sid, leader) = {
            let o = &self.tasks[old as usize];
            (o.pgrp, o.sid, o.session_leader)
        };
        let me = &mut self.tasks[t as usize];
        me.pgrp = pgrp;
        me.sid = sid;
        me.session_leader = leader;
        for x in &mut self.tasks {
            if x.pgrp == Some(old) {
                x.pgrp = Some(t);
            }
            if x.sid == Some(old) {
                x.sid = Some(t);
            }
        }
    }
}
