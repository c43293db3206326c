//! The guardian: a tiny child of the lab that cleans up a case when the lab dies abruptly
//! (SIGKILL through PR_SET_PDEATHSIG when the harness dies, Ctrl-C, a crash).
//!
//! Agents notice the lab's death by EOF on their command pipe, but only between ops: a task
//! blocked in an op (a read of a pipe it holds both ends of, a wait) would stay forever. The
//! guardian holds only the read end of a pipe whose write end only the lab holds; on EOF it
//! kills the current case's process group and removes its directory, both published by the
//! lab in a small shared page.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

const DIR_MAX: usize = 4000;

/// Most process groups other than `t0`'s a case can make: one per task.
const GROUPS_MAX: usize = 64;

#[repr(C)]
struct Page {
    pgid: AtomicI32,
    len: AtomicU32,
    dir: [u8; DIR_MAX],
    /// Process groups case tasks made with setpgid or setsid (0: free slot).
    groups: [AtomicI32; GROUPS_MAX],
}

/// The lab's handle on its guardian; dropping it (or the lab dying) wakes the guardian.
pub struct Guard {
    board: Board,
    alive: Option<OwnedFd>,
    pid: i32,
}

/// Where the lab publishes what the guardian must clean up.
#[derive(Clone, Copy)]
pub struct Board {
    page: *mut Page,
}

impl Guard {
    /// Forks the guardian. Call while the lab is single-threaded and before it opens fds the
    /// guardian must not hold (it closes every other fd anyway).
    pub fn start() -> Result<Guard, String> {
        let size = std::mem::size_of::<Page>();
        // SAFETY: a fresh shared anonymous mapping, zero-filled, which is a valid `Page`
        // (atomics and bytes); it is never unmapped while the lab runs.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        let page = page.cast::<Page>();
        let mut p = [0i32; 2];
        // SAFETY: pipe2 fills `p`.
        if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!("pipe2: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: the lab is single-threaded here; the child only runs `watch`, which never
        // returns.
        let pid = unsafe { super::reap::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: we are the guardian child; `page` is mapped in it too.
            unsafe { watch(p[0], &*page) }
        }
        // SAFETY: `p[0]` is ours and no longer needed; `p[1]` becomes owned.
        let alive = unsafe {
            libc::close(p[0]);
            OwnedFd::from_raw_fd(p[1])
        };
        Ok(Guard {
            board: Board { page },
            alive: Some(alive),
            pid,
        })
    }

    /// Stops the guardian (nothing to clean up) and reaps it, so no zombie outlives the lab
    /// even under an init that does not reap orphans.
    pub fn stop(&mut self) {
        self.board.clear();
        if self.alive.take().is_some() {
            super::reap::reap_pid(self.pid);
        }
    }

    /// The board to publish the current case on.
    pub fn board(&self) -> Board {
        self.board
    }
}

impl Board {
    fn page(&self) -> &Page {
        // SAFETY: the mapping lives as long as the process.
        unsafe { &*self.page }
    }

    /// Publishes the case directory (before `t0` exists).
    pub fn set_dir(&self, dir: &[u8]) {
        let pg = self.page();
        let n = dir.len().min(DIR_MAX);
        pg.len.store(0, Ordering::SeqCst);
        // SAFETY: only the lab writes the page, and `len` is 0 while the bytes change.
        unsafe {
            std::ptr::copy_nonoverlapping(dir.as_ptr(), (*self.page).dir.as_mut_ptr(), n);
        }
        pg.len.store(n as u32, Ordering::SeqCst);
    }

    /// Publishes the case's process group (0: none).
    pub fn set_pgid(&self, pgid: i32) {
        self.page().pgid.store(pgid, Ordering::SeqCst);
    }

    /// Publishes another process group of the case (made by a task's setpgid or setsid).
    pub fn add_group(&self, pgid: i32) {
        let groups = &self.page().groups;
        if groups.iter().any(|g| g.load(Ordering::SeqCst) == pgid) {
            return;
        }
        if let Some(free) = groups.iter().find(|g| g.load(Ordering::SeqCst) == 0) {
            free.store(pgid, Ordering::SeqCst);
        }
    }

    /// Forgets the groups of [`Board::add_group`].
    pub fn clear_groups(&self) {
        for g in &self.page().groups {
            g.store(0, Ordering::SeqCst);
        }
    }

    /// The case is gone: nothing to clean up.
    pub fn clear(&self) {
        self.set_pgid(0);
        self.clear_groups();
        self.page().len.store(0, Ordering::SeqCst);
    }
}

/// The guardian's whole life: wait for the lab to die, clean up, exit.
unsafe fn watch(fd: i32, page: &Page) -> ! {
    // SAFETY: plain syscalls on this process's own state.
    unsafe {
        // Its own group and no terminal signals: a Ctrl-C that kills the lab must leave the
        // guardian to clean up.
        libc::setpgid(0, 0);
        for sig in [
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGQUIT,
            libc::SIGPIPE,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Hold nothing of the harness's (stdio) or the lab's, so no pipe stays open for us.
        if fd != 3 {
            libc::dup3(fd, 3, libc::O_CLOEXEC);
        }
        if libc::syscall(libc::SYS_close_range, 0, 2, 0) != 0
            || libc::syscall(libc::SYS_close_range, 4, u32::MAX, 0) != 0
        {
            // Without close_range (refused by a filter) one by one: kept, the write end of
            // our own pipe would keep the guardian waiting forever.
            close_all_but_3();
        }
        let mut b = [0u8; 1];
        while libc::read(3, b.as_mut_ptr().cast(), 1) < 0 {}
        let pgid = page.pgid.load(Ordering::SeqCst);
        if pgid > 0 && libc::kill(-pgid, libc::SIGKILL) != 0 {
            kill_group_members(pgid, None);
        }
        // Groups the case's tasks made: their ids are pids of case tasks, but a group whose
        // last member was reaped frees its id for reuse, so they are not signalled as
        // groups; only their members in the lab's session or in one of the case's own are.
        let groups: Vec<i32> = page
            .groups
            .iter()
            .map(|g| g.load(Ordering::SeqCst))
            .filter(|&g| g > 0)
            .collect();
        if !groups.is_empty() {
            let mut sessions = groups.clone();
            sessions.push(libc::getsid(0));
            for &g in &groups {
                kill_group_members(g, Some(&sessions));
            }
        }
        let n = (page.len.load(Ordering::SeqCst) as usize).min(DIR_MAX);
        if n > 0 {
            use std::os::unix::ffi::OsStrExt;
            let dir = std::ffi::OsStr::from_bytes(&page.dir[..n]);
            let _ = std::fs::remove_dir_all(dir);
        }
        libc::_exit(0)
    }
}

/// Without kill(2) (refused by a filter): SIGKILL through tkill(2) to every process whose
/// process group is `pgid`, read from /proc/PID/stat (a zombie leader's threads are its
/// other tasks, listed there too), and, when `sessions` is given, whose session is one of
/// them. Repeated until a pass finds none alive, bounded so the guardian always exits.
fn kill_group_members(pgid: i32, sessions: Option<&[i32]>) {
    for _ in 0..100 {
        let mut found = false;
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in procs.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for t in tasks.flatten() {
                let Ok(tid) = t.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                    .unwrap_or_default();
                // Fields after the command's closing parenthesis: state, ppid, pgrp,
                // session.
                let mut f = stat.rsplit(')').next().unwrap_or("").split_whitespace();
                let state = f.next();
                let pgrp = f.nth(1).and_then(|g| g.parse::<i32>().ok());
                let sid = f.next().and_then(|g| g.parse::<i32>().ok());
                let in_session = sessions.is_none_or(|s| sid.is_some_and(|x| s.contains(&x)));
                if pgrp == Some(pgid) && state != Some("Z") && in_session {
                    found = true;
                    // SAFETY: a signal to a live member of the case's group, which the lab
                    // (now dead) made; the guardian owns nothing else there.
                    unsafe {
                        libc::syscall(libc::SYS_tkill, tid, libc::SIGKILL);
                    }
                }
            }
        }
        if !found {
            return;
        }
        std::thread::yield_now();
    }
}

/// Closes every fd but 3, as listed in /proc/self/fd (listed first, closed after, so the
/// listing's own fd goes too).
fn close_all_but_3() {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
                .collect()
        })
        .unwrap_or_default();
    for fd in fds.into_iter().filter(|&fd| fd != 3) {
        // SAFETY: the guardian uses no fd but 3; closing a stale number fails harmlessly.
        unsafe {
            libc::close(fd);
        }
    }
}
