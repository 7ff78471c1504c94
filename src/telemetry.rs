//! Telemetry: structured logs and per-stage progress bars.
//!
//! Input: verbosity and format flags, and whether stderr is a terminal. Output: a `tracing`
//! subscriber on stderr (targets `sstc_match::<stage>`, values as fields, never contact
//! data), [`Progress`], which hands out progress bars that are hidden with `--quiet`, when
//! stderr is not a terminal, or when `CI` is set, and [`StageClock`], the wall time of each
//! stage for the manifest; [`terminal_safe`] for any text bound for a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::io::manifest::StageTiming;

/// Whether `--summary json` asked for one JSON line on stdout at the end of a run.
static SUMMARY: AtomicBool = AtomicBool::new(false);

/// Asks for the run's summary line (`--summary json`).
pub fn want_summary() {
    SUMMARY.store(true, Ordering::Relaxed);
}

/// Prints the run's one-line JSON summary on stdout, when it was asked for: how it ended
/// (`exit_code`, `exit_reason`) and, for a finished run, its id, counts and timings; for a
/// monitor to read.
pub fn summary(line: &serde_json::Value) {
    if SUMMARY.load(Ordering::Relaxed) {
        println!("{line}");
    }
}

/// Installs the log subscriber: warnings by default, `-v` info, `-vv` debug.
pub fn init_logging(verbosity: u8, format: LogFormat) {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("SSTC_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Hands out progress bars, or hidden ones.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars are visible unless `quiet`, stderr is not a terminal, or `CI` is set.
    pub fn new(quiet: bool) -> Self {
        Progress {
            visible: !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
        }
    }

    /// Never shows anything (library use, tests).
    pub fn hidden() -> Self {
        Progress { visible: false }
    }

    /// A bar for one stage of `len` units (`0` for a spinner).
    pub fn stage(&self, name: &str, len: u64) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let bar = if len == 0 {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::new(len)
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let template = if len == 0 {
            "{spinner} {prefix:>9} {elapsed:>4} {msg}"
        } else {
            "{spinner} {prefix:>9} [{bar:30}] {pos}/{len} {elapsed:>4} eta {eta} {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

/// Wall time per stage, in pipeline order.
#[derive(Default)]
pub struct StageClock {
    /// The stages timed so far.
    pub timings: Vec<StageTiming>,
}

impl StageClock {
    /// Runs one stage and records its wall time.
    pub fn time<T>(&mut self, stage: &str, work: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = work();
        let seconds = start.elapsed().as_secs_f64();
        tracing::info!(target: "sstc_match::pipeline", stage, seconds);
        self.timings.push(StageTiming {
            stage: stage.to_string(),
            seconds: (seconds * 1e4).round() / 1e4,
        });
        result
    }
}

/// `text` with every control character but line feeds and tabs shown as `\u{..}`: a name
/// holding terminal escape sequences is printed, never obeyed by the terminal.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.chars().map(|c| if unsafe_char(c) { c.escape_unicode().to_string() } else { c.to_string() }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_obeyed() {
        assert_eq!(terminal_safe("Coop \u{1b}[2J\u{1b}]0;x\u{7}\tname\n"), "Coop \\u{1b}[2J\\u{1b}]0;x\\u{7}\tname\n");
        assert_eq!(terminal_safe("Thiès"), "Thiès");
        assert!(matches!(terminal_safe("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m", "a C1 control too");
    }
}
