//! Progress on standard error for the long verbs (`bench`, `keys rotate`, `purge`, `export`): a
//! spinner naming the step under way, or a bar counting items. Drawn only when standard error is
//! a terminal, so scripts, logs, pipes and tests see nothing but the verbs' own output; it is
//! cleared when dropped, before the verb prints its result.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress(ProgressBar);

impl Progress {
    /// A spinner with the step under way and the time it has taken.
    pub fn spinner(step: &str) -> Self {
        let bar = Self::target(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Self::started(bar, step)
    }

    /// A bar over `len` items (requests, keys…).
    pub fn counted(step: &str, len: u64) -> Self {
        let bar = Self::target(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self::started(bar, step)
    }

    /// Names the next step.
    pub fn step(&self, step: &str) {
        self.0.set_message(step.to_owned());
    }

    /// One more item done.
    pub fn inc(&self) {
        self.0.inc(1);
    }

    fn target(bar: ProgressBar) -> ProgressBar {
        if std::io::stderr().is_terminal() {
            bar
        } else {
            ProgressBar::hidden()
        }
    }

    fn started(bar: ProgressBar, step: &str) -> Self {
        bar.set_message(step.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
