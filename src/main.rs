//! The `sstc-match` binary: parse flags, set up telemetry, dispatch, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 finished but input rows were rejected (see rejects.csv);
//! 2 failed (bad flags, unusable input, outputs not writable): nothing was published.

use std::process::ExitCode;

use clap::Parser;

use sstc_match::cli::{Cli, Command};
use sstc_match::config::RunConfig;
use sstc_match::telemetry::{self, Progress};
use sstc_match::commands::{campaign, diff, evaluate as eval, explain, generate, groups, report, run as pipeline};

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logging(cli.global.verbose, cli.global.log_format);
    let progress = Progress::new(cli.global.quiet);
    match dispatch(cli.command, progress) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("sstc-match: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command, progress: Progress) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => {
            let config = RunConfig::resolve(&args)?;
            let manifest = pipeline::run(&config, progress)?;
            eprintln!(
                "sstc-match: run {}: {} shortlists ({} rows) for {} active partners in {}; {} input rows rejected{}",
                manifest.run_id,
                manifest.counts.shortlists,
                manifest.counts.shortlist_rows,
                manifest.counts.active_partners,
                config.out_dir.display(),
                manifest.input.rows_rejected,
                if manifest.input.rows_rejected > 0 { " (see rejects.csv)" } else { "" },
            );
            Ok(manifest.exit_code as u8)
        }
        Command::Explain(args) => {
            print!("{}", explain::explain(&args)?);
            Ok(0)
        }
        Command::Evaluate(args) => {
            print!("{}", eval::run(&args)?.report);
            Ok(0)
        }
        Command::Tune(args) => {
            print!("{}", eval::tune::run(&args)?);
            Ok(0)
        }
        Command::Sensitivity(args) => {
            print!("{}", eval::sensitivity::run(&args)?);
            Ok(0)
        }
        Command::Diff(args) => {
            print!("{}", diff::diff(&args.old, &args.new)?);
            Ok(0)
        }
        Command::Groups(args) => {
            print!("{}", groups::run(&args)?);
            Ok(0)
        }
        Command::Campaign(args) => {
            let summary = campaign::run(&args)?;
            eprintln!("sstc-match: {}", campaign::describe(&summary, &args.out));
            Ok(0)
        }
        Command::Report(args) => {
            let path = report::write(&args)?;
            eprintln!("sstc-match: wrote {}", path.display());
            Ok(0)
        }
        Command::Generate(args) => {
            let rows = generate::write(&args)?;
            eprintln!("sstc-match: wrote {rows} profiles to {}", args.out.display());
            Ok(0)
        }
    }
}
