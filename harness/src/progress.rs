//! A progress bar for long interactive runs (indicatif): on stderr, only when stderr is a
//! terminal and `CI` is not set, so a log gets no escape codes; the bar takes the terminal's
//! width and shows the rate and the time left.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// The bar of one run.
pub struct Progress {
    bar: ProgressBar,
}

/// What the bar shows: cases done of all, divergences so far, cases per second, time left.
const TEMPLATE: &str =
    "[{wide_bar}] {pos}/{len} cases, {msg} divergence(s), {rate} cases/s, ETA {eta}";

impl Progress {
    /// A bar for `total` cases, or `None` when stderr is not an interactive terminal.
    pub fn new(total: u64) -> Option<Progress> {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        (interactive && total > 1).then(|| Progress::to(total, ProgressDrawTarget::stderr()))
    }

    fn to(total: u64, target: ProgressDrawTarget) -> Progress {
        let style = ProgressStyle::with_template(TEMPLATE)
            .expect("the template is valid")
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}", s.per_sec());
                },
            )
            .progress_chars("#>-");
        let bar = ProgressBar::with_draw_target(Some(total), target).with_style(style);
        bar.set_message("0");
        Progress { bar }
    }

    /// Moves the bar to `done` cases with `divergences` found (indicatif throttles redraws).
    pub fn update(&mut self, done: u64, divergences: usize) {
        self.bar.set_message(divergences.to_string());
        self.bar.set_position(done);
    }

    /// Runs `f` (which prints) with the bar erased, and draws the bar again after it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;
    use std::sync::{Arc, Mutex};

    /// A terminal 100 columns wide that keeps what is written and whether a line was erased.
    #[derive(Clone, Debug, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.0.lock().unwrap().push("<clear>".into());
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_bar_shows_counts_rate_and_eta_and_is_erased_at_the_end() {
        let screen = Screen::default();
        let mut p = Progress::to(10, ProgressDrawTarget::term_like(Box::new(screen.clone())));
        p.update(4, 2);
        p.bar.tick();
        let drawn = screen.0.lock().unwrap().clone();
        let line = drawn.iter().rev().find(|l| l.contains("cases")).unwrap();
        assert!(
            line.contains("] 4/10 cases, 2 divergence(s), "),
            "{drawn:?}"
        );
        assert!(line.contains(" cases/s, ETA "), "{line:?}");
        // The bar takes what the text leaves of the terminal's width.
        assert_eq!(line.chars().count(), 100, "{line:?}");
        drop(p);
        assert_eq!(screen.0.lock().unwrap().last().unwrap(), "<clear>");
    }
}
