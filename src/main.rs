//! The `sstc-match` binary: parse flags, set up telemetry, dispatch, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 finished but input rows were rejected (see rejects.csv);
//! 2 failed (bad flags, unusable input, outputs not writable): nothing was published;
//! 128 + n stopped by signal n, nothing published. Every text reaches the terminal through
//! `terminal_safe`; a reader that stops early (`| head`) ends the program quietly.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use sstc_match::cli::{Cli, Command};
use sstc_match::commands::{campaign, diff, evaluate, explain, generate, groups, report, run};
use sstc_match::config::Checked;
use sstc_match::telemetry::{self, terminal_safe, Progress};

/// mimalloc, not the system allocator: the engine allocates many short strings and vectors on
/// two threads, where glibc's malloc hands pages back and faults them in again (a fifth of a
/// report's time at 100k). Measured in one session: `run` at 100k 47.5 s → 40.1 s, `report
/// --previous` 11.3 s → 9.0 s (mean of three), for 19 % more peak memory in `run`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging(cli.global.verbose, cli.global.log_format);
    let progress = Progress::new(cli.global.quiet);
    match dispatch(cli.command, progress) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("sstc-match: error: {}", terminal_safe(&format!("{error:#}")));
            ExitCode::from(2)
        }
    }
}

/// Prints a report on stdout; a closed pipe (the reader stopped) ends the program quietly.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(terminal_safe(text).as_bytes()).and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => Ok(result?),
    }
}

/// Says something on stderr.
fn say(text: &str) {
    eprintln!("sstc-match: {}", terminal_safe(text));
}

fn dispatch(command: Command, progress: Progress) -> anyhow::Result<u8> {
    match Checked::resolve(&command)? {
        Checked::Run(config) => {
            let manifest = run::run(&config, progress)?;
            say(&format!(
                "run {}: {} shortlists ({} rows) for {} active partners in {}; {} input rows rejected{}",
                manifest.run_id,
                manifest.counts.shortlists,
                manifest.counts.shortlist_rows,
                manifest.counts.active_partners,
                config.out.display(),
                manifest.input.rows_rejected,
                if manifest.input.rows_rejected > 0 { " (see rejects.csv)" } else { "" },
            ));
            Ok(manifest.exit_code as u8)
        }
        Checked::Explain(config) => print(&explain::explain(&config)?).map(|_| 0),
        Checked::Evaluate(config) => print(&evaluate::run(&config)?.report).map(|_| 0),
        Checked::Tune(config) => print(&evaluate::tune::run(&config)?).map(|_| 0),
        Checked::Sensitivity(config) => print(&evaluate::sensitivity::run(&config)?).map(|_| 0),
        Checked::Diff(config) => print(&diff::diff(&config.old, &config.new)?).map(|_| 0),
        Checked::Groups(config) => print(&groups::run(&config)?).map(|_| 0),
        Checked::Campaign(config) => {
            let summary = campaign::run(&config)?;
            say(&campaign::describe(&summary, &config.out));
            Ok(0)
        }
        Checked::Report(config) => {
            let path = report::write(&config)?;
            say(&format!("wrote {}", path.display()));
            Ok(0)
        }
        Checked::Generate(config) => {
            let rows = generate::write(&config)?;
            say(&format!("wrote {rows} profiles to {}", config.out.display()));
            Ok(0)
        }
    }
}
