//! The VM's console (ttyS0) and qemu's own messages, read from qemu's stderr into a ring
//! buffer: the last lines go into the error when the VM fails, nothing goes to the terminal.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bytes of console output kept.
const KEEP: usize = 64 << 10;

/// The end of a VM's console output.
pub struct Console {
    state: Mutex<(VecDeque<u8>, bool)>,
    closed: Condvar,
}

impl Console {
    /// Starts a thread that reads `from` until its end (qemu's exit).
    pub fn start(mut from: impl Read + Send + 'static) -> Arc<Console> {
        let c = Arc::new(Console {
            state: Mutex::new((VecDeque::new(), false)),
            closed: Condvar::new(),
        });
        let c2 = Arc::clone(&c);
        let spawned = std::thread::Builder::new()
            .name("forkspec-vm-console".into())
            .spawn(move || {
                let mut chunk = [0u8; 4096];
                loop {
                    match from.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => c2.push(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                c2.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
                c2.closed.notify_all();
            });
        if spawned.is_err() {
            c.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        }
        c
    }

    fn push(&self, bytes: &[u8]) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0.extend(bytes);
        let over = s.0.len().saturating_sub(KEEP);
        s.0.drain(..over);
    }

    /// Waits at most `max` for the end of the output (after qemu was killed or exited).
    pub fn wait_closed(&self, max: Duration) {
        let end = Instant::now() + max;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !s.1 {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            s = self
                .closed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The last `n` non-empty lines, each indented, or a note that there were none.
    pub fn tail(&self, n: usize) -> String {
        let s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = s.0.iter().copied().collect();
        drop(s);
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .split(['\n', '\r'])
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            return "    (no console output)".into();
        }
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines() {
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("line {i}\r\n"));
        }
        let c = Console::start(std::io::Cursor::new(text.into_bytes()));
        c.wait_closed(Duration::from_secs(60));
        assert_eq!(c.tail(2), "    line 19998\n    line 19999");
        let c = Console::start(std::io::empty());
        c.wait_closed(Duration::from_secs(60));
        assert_eq!(c.tail(5), "    (no console output)");
    }
}
