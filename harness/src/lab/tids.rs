//! The thread-id words of clone children as each task sees them: the `parent_tid` and
//! `child_tid` words in the scratch area of every child's slot (see
//! [`super::agent::stack_base`]), read from the task's own memory with process_vm_readv.

use super::agent::stack_base;
use forkspec_model::{TaskId, TidEntry, TidValue, TidWord};

/// Offsets of the two words in a slot's scratch area (as the agent passes them to clone).
const PARENT_TID: u64 = 8;
const CHILD_TID: u64 = 16;

/// What a word of slot `s` can hold: the tids of its child (every namespace level) and
/// whether its `parent_tid` word holds a pidfd (legacy clone with CLONE_PIDFD).
pub struct SlotChild {
    /// The child's label (= its slot).
    pub label: TaskId,
    /// Its pid in every pid namespace from the lab's inwards.
    pub nspid: Vec<i32>,
    /// `parent_tid` holds a pidfd number, not a tid.
    pub pidfd_word: bool,
}

/// The non-zero words of `children`'s slots in the memory of process `pid`, sorted; `None`
/// when that memory cannot be read (a zombie, a task gone).
pub fn read(pid: i32, children: &[SlotChild]) -> Option<Vec<TidEntry>> {
    if children.is_empty() {
        return Some(Vec::new());
    }
    let mut words = vec![0i32; children.len() * 2];
    let local: Vec<libc::iovec> = words
        .iter_mut()
        .map(|w| libc::iovec {
            iov_base: (w as *mut i32).cast(),
            iov_len: 4,
        })
        .collect();
    let remote: Vec<libc::iovec> = children
        .iter()
        .flat_map(|c| {
            let base = stack_base(u64::from(c.label));
            [PARENT_TID, CHILD_TID].map(|off| libc::iovec {
                iov_base: (base + off) as *mut libc::c_void,
                iov_len: 4,
            })
        })
        .collect();
    if !super::facility::get().process_vm_readv {
        // The fallback: the same words through /proc/PID/mem.
        let f = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
        for (w, r) in words.iter_mut().zip(&remote) {
            let mut b = [0u8; 4];
            std::os::unix::fs::FileExt::read_exact_at(&f, &mut b, r.iov_base as u64).ok()?;
            *w = i32::from_ne_bytes(b);
        }
        return Some(decode(children, &words));
    }
    // SAFETY: every local iovec points into `words`, 4 bytes each; the remote ones are only
    // read by the kernel from the other process.
    let n = unsafe {
        libc::process_vm_readv(
            pid,
            local.as_ptr(),
            local.len() as libc::c_ulong,
            remote.as_ptr(),
            remote.len() as libc::c_ulong,
            0,
        )
    };
    if n != (words.len() * 4) as isize {
        return None;
    }
    Some(decode(children, &words))
}

/// The non-zero words (two per child, as read), as entries.
fn decode(children: &[SlotChild], words: &[i32]) -> Vec<TidEntry> {
    let mut out = Vec::new();
    for (c, pair) in children.iter().zip(words.chunks(2)) {
        for (word, v) in [(TidWord::ParentTid, pair[0]), (TidWord::ChildTid, pair[1])] {
            if v == 0 {
                continue;
            }
            let pidfd = word == TidWord::ParentTid && c.pidfd_word;
            let value = if !pidfd && c.nspid.contains(&v) {
                TidValue::Task(c.label)
            } else {
                TidValue::Raw(i64::from(v))
            };
            out.push(TidEntry {
                child: c.label,
                word,
                value,
            });
        }
    }
    out
}
