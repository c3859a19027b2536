//! Progress: the one handle that writes to the terminal while work runs. A TTY gets a spinner
//! with elapsed time per step, other streams get plain lines, `-o json` gets NDJSON events on
//! stderr; stdout is left to results. A step counts as failed unless `.done()` is called.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Spinners on a terminal.
    Spinner,
    /// One line per step start and end.
    Plain,
    /// NDJSON events on stderr.
    Json,
    /// Nothing (`-q`).
    Quiet,
}

impl Mode {
    /// Pick the mode for this process: JSON output wins, then quiet, then TTY detection.
    pub fn detect(json: bool, quiet: bool) -> Mode {
        match (json, quiet) {
            (true, _) => Mode::Json,
            (false, true) => Mode::Quiet,
            _ if std::io::stderr().is_terminal() => Mode::Spinner,
            _ => Mode::Plain,
        }
    }
}

/// The progress reporter.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    mode: Mode,
}

impl Progress {
    /// A reporter in `mode`.
    pub fn new(mode: Mode) -> Progress {
        Progress { mode }
    }

    /// Start a step; the returned guard reports failure when dropped without `done`.
    pub fn start(&self, step: impl Into<String>) -> Step {
        let step = step.into();
        let bar = match self.mode {
            Mode::Spinner => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("static template is valid"));
                bar.set_message(step.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                Some(bar)
            }
            Mode::Plain => {
                eprintln!(" • {step} ...");
                None
            }
            Mode::Json => {
                event("start", &step, None, None);
                None
            }
            Mode::Quiet => None,
        };
        Step { mode: self.mode, step, bar, started: Instant::now(), finished: false }
    }

    /// A one-off note (warnings, hints) in the same channel.
    pub fn note(&self, text: &str) {
        match self.mode {
            Mode::Json => event("note", text, None, None),
            Mode::Quiet => {}
            _ => eprintln!(" ! {text}"),
        }
    }
}

/// A running step.
pub struct Step {
    mode: Mode,
    step: String,
    bar: Option<ProgressBar>,
    started: Instant,
    finished: bool,
}

impl Step {
    /// Mark the step successful, with a short result.
    pub fn done(mut self, detail: impl Into<String>) {
        self.finish(true, &detail.into());
    }

    fn finish(&mut self, ok: bool, detail: &str) {
        self.finished = true;
        let secs = self.started.elapsed().as_secs_f64();
        let mark = if ok { "✓" } else { "✗" };
        let line = if detail.is_empty() {
            format!("{mark} {} ({secs:.1}s)", self.step)
        } else {
            format!("{mark} {}: {detail} ({secs:.1}s)", self.step)
        };
        match (self.mode, &self.bar) {
            (Mode::Spinner, Some(bar)) => bar.finish_with_message(line),
            (Mode::Plain, _) => eprintln!(" {line}"),
            (Mode::Json, _) => event(if ok { "done" } else { "failed" }, &self.step, Some(secs), Some(detail)),
            _ => {}
        }
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(false, "");
        }
    }
}

fn event(kind: &str, step: &str, seconds: Option<f64>, detail: Option<&str>) {
    let v = serde_json::json!({"event": kind, "step": step, "seconds": seconds, "detail": detail});
    eprintln!("{v}");
}
