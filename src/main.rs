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
use sstc_match::config::{CampaignConfig, DiffConfig, EvaluateConfig, ExplainConfig, GenerateConfig, GroupsConfig, ReportConfig, RunConfig, SensitivityConfig, TuneConfig};
use sstc_match::telemetry::{self, terminal_safe, Progress};

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
    match command {
        Command::Run(args) => {
            let config = RunConfig::resolve(&args)?;
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
        Command::Explain(args) => {
            print(&explain::explain(&ExplainConfig::resolve(&args)?)?)?;
            Ok(0)
        }
        Command::Evaluate(args) => {
            print(&evaluate::run(&EvaluateConfig::resolve(&args)?)?.report)?;
            Ok(0)
        }
        Command::Tune(args) => {
            print(&evaluate::tune::run(&TuneConfig::resolve(&args)?)?)?;
            Ok(0)
        }
        Command::Sensitivity(args) => {
            print(&evaluate::sensitivity::run(&SensitivityConfig::resolve(&args)?)?)?;
            Ok(0)
        }
        Command::Diff(args) => {
            let config = DiffConfig::resolve(&args);
            print(&diff::diff(&config.old, &config.new)?)?;
            Ok(0)
        }
        Command::Groups(args) => {
            print(&groups::run(&GroupsConfig::resolve(&args)?)?)?;
            Ok(0)
        }
        Command::Campaign(args) => {
            let config = CampaignConfig::resolve(&args)?;
            let summary = campaign::run(&config)?;
            say(&campaign::describe(&summary, &config.out));
            Ok(0)
        }
        Command::Report(args) => {
            let path = report::write(&ReportConfig::resolve(&args))?;
            say(&format!("wrote {}", path.display()));
            Ok(0)
        }
        Command::Generate(args) => {
            let config = GenerateConfig::resolve(&args);
            let rows = generate::write(&config)?;
            say(&format!("wrote {rows} profiles to {}", config.out.display()));
            Ok(0)
        }
    }
}
