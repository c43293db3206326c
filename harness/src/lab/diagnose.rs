//! What a hang message says about a task's command pipe: whether the command sent is still
//! queued (the task never read it) and which processes other than the case's known tasks
//! hold the pipe's read end (every agent inherits every slot's read end, so a stray agent
//! could consume a command meant for another). Only read when a hang is being reported.

use super::channel::{AGENT_FD_BASE, LAB_FD_BASE, REPLY_READ_FD, REPLY_WRITE_FD};

/// Most stray holders named in one message.
const MAX_STRAYS: usize = 4;

/// One line about slot `slot`'s command pipe; `known` are the pids of the case's tasks.
pub fn command_pipe(slot: usize, known: &[i32]) -> String {
    let write_end = LAB_FD_BASE + slot as i32;
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD on our own pipe fd writes one int.
    let q = unsafe { libc::ioctl(write_end, libc::FIONREAD, &mut queued) };
    let queued = if q == 0 {
        format!("{queued} bytes queued")
    } else {
        "queue unknown".to_string()
    };
    let Ok(pipe) = std::fs::read_link(format!("/proc/self/fd/{write_end}")) else {
        return format!("command pipe: {queued}");
    };
    let read_end = AGENT_FD_BASE + slot as i32;
    let mut strays = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if known.contains(&pid) {
                continue;
            }
            if std::fs::read_link(format!("/proc/{pid}/fd/{read_end}")).ok() == Some(pipe.clone()) {
                strays.push(format!("{pid} ({})", super::settle::describe(pid)));
            }
        }
    }
    // The lab, the zygote and the guardian hold the read ends too; they never read them.
    let shown: Vec<_> = strays.iter().take(MAX_STRAYS).cloned().collect();
    format!(
        "command pipe: {queued}; other holders of its read end: {}{}",
        if shown.is_empty() {
            "none".to_string()
        } else {
            shown.join(", ")
        },
        if strays.len() > MAX_STRAYS {
            ", ..."
        } else {
            ""
        }
    )
}

/// Bytes waiting in the reply pipe (the lab's read end), other processes that hold a read
/// end of it, and what task `tid`'s reply fd is.
pub fn reply_pipe(tid: i32) -> String {
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD on our own pipe fd writes one int.
    let queued = if unsafe { libc::ioctl(REPLY_READ_FD, libc::FIONREAD, &mut queued) } == 0 {
        format!("{queued} bytes queued")
    } else {
        "queue unknown".to_string()
    };
    let Ok(pipe) = std::fs::read_link(format!("/proc/self/fd/{REPLY_READ_FD}")) else {
        return format!("reply pipe: {queued}");
    };
    let theirs = std::fs::read_link(format!("/proc/{tid}/fd/{REPLY_WRITE_FD}"))
        .map_or_else(|e| format!("unreadable ({e})"), |l| l.display().to_string());
    let me = std::process::id().to_string();
    let mut readers = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let pid = e.file_name().to_string_lossy().to_string();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        for f in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if std::fs::read_link(f.path()).ok().as_ref() != Some(&pipe) {
                continue;
            }
            let fd = f.file_name().to_string_lossy().to_string();
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
            let read_only = info
                .lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
                .is_some_and(|fl| fl & libc::O_ACCMODE as u32 == libc::O_RDONLY as u32);
            if read_only && readers.len() < MAX_STRAYS {
                readers.push(format!(
                    "{pid} fd {fd} ({})",
                    super::settle::describe(pid.parse().unwrap_or(0))
                ));
            }
        }
    }
    format!(
        "reply pipe: {queued}; the task's fd {REPLY_WRITE_FD} is {theirs} (the lab's read end: {}); other readers: {}",
        pipe.display(),
        if readers.is_empty() { "none".to_string() } else { readers.join(", ") }
    )
}
