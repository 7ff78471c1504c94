//! The `sstc-match` binary: parse flags, set up telemetry, dispatch, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 finished but input rows were rejected (see rejects.csv);
//! 2 failed (bad flags, unusable input, outputs not writable): nothing was published;
//! 128 + n stopped by signal n, nothing published. Every text reaches the terminal through
//! `terminal_safe`; a reader that stops early (`| head`) ends the program quietly.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use sstc_match::cli::{Cli, Command};
use sstc_match::commands::{campaign, diff, evaluate, explain, generate, groups, merge, report, run};
use sstc_match::io::manifest::RunManifest;
use sstc_match::config::{self, Checked};
use sstc_match::telemetry::{self, terminal_safe, Progress};

/// mimalloc, not the system allocator: the engine allocates many short strings and vectors on
/// two threads, where glibc's malloc hands pages back and faults them in again (a fifth of a
/// report's time at 100k). Measured in one session: `run` at 100k 47.5 s → 40.1 s, `report
/// --previous` 11.3 s → 9.0 s (mean of three), for 19 % more peak memory in `run`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let words = match config::file::merge(std::env::args_os().collect()) {
        Ok(words) => words,
        Err(error) => {
            eprintln!("sstc-match: error: {}", terminal_safe(&error.to_string()));
            return ExitCode::from(2);
        }
    };
    let matches = Cli::command().get_matches_from(words);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    telemetry::init_logging(cli.global.verbose, cli.global.log_format);
    let progress = Progress::new(cli.global.quiet);
    let settings = config::file::resolved(&matches);
    if matches!(&cli.command, Command::Run(args) if args.summary.is_some()) {
        telemetry::want_summary();
    }
    match dispatch(cli.command, settings, progress) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let message = format!("{error:#}");
            eprintln!("sstc-match: error: {}", terminal_safe(&message));
            telemetry::summary(&serde_json::json!({ "exit_code": 2, "exit_reason": message }));
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

/// Reports a published run (summary line, message) and returns its exit code.
fn published(manifest: &RunManifest, out: &std::path::Path) -> anyhow::Result<u8> {
    telemetry::summary(&serde_json::json!({
        "exit_code": manifest.exit_code,
        "exit_reason": if manifest.exit_code == 0 { "published" } else { "published; input rows were rejected (see rejects.csv)" },
        "run_id": manifest.run_id,
        "out": out,
        "counts": manifest.counts,
        "rows_read": manifest.input.rows_read,
        "rows_rejected": manifest.input.rows_rejected,
        "timings": manifest.timings,
        "peak_rss_mb": manifest.peak_rss_mb,
    }));
    say(&format!(
        "run {}: {} shortlists ({} rows) for {} active partners in {}; {} input rows rejected{}",
        manifest.run_id,
        manifest.counts.shortlists,
        manifest.counts.shortlist_rows,
        manifest.counts.active_partners,
        out.display(),
        manifest.input.rows_rejected,
        if manifest.input.rows_rejected > 0 { " (see rejects.csv)" } else { "" },
    ));
    Ok(manifest.exit_code as u8)
}

/// Runs a parsed command; `settings` are its flags as a config file (for `run` and `config`).
fn dispatch(command: Command, settings: toml::Table, progress: Progress) -> anyhow::Result<u8> {
    match Checked::resolve(&command)? {
        Checked::Config(_) => {
            let file = match &command {
                Command::Config(args) => args.config.as_deref(),
                _ => None,
            };
            print(&config::file::render(&settings, file)).map(|_| 0)
        }
        Checked::Completions(shell) => {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sstc-match", &mut text);
            print(&String::from_utf8(text)?).map(|_| 0)
        }
        Checked::Man => {
            let mut roff = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut roff)?;
            print(&String::from_utf8(roff)?).map(|_| 0)
        }
        Checked::Run(mut config) if config.shard.is_some() => {
            config.settings = settings;
            let shard = config.shard.expect("a shard");
            let manifest = run::run_shard(&config, shard, progress)?;
            telemetry::summary(&serde_json::json!({
                "exit_code": 0,
                "exit_reason": "shard published",
                "run_id": manifest.run_id,
                "shard": shard.to_string(),
                "out": config.out,
                "partners": manifest.partners,
                "timings": manifest.timings,
                "peak_rss_mb": manifest.peak_rss_mb,
            }));
            say(&format!("run {} shard {shard}: lists of {} partners in {}; merge the {} shards with `sstc-match merge`", manifest.run_id, manifest.partners, config.out.display(), shard.count));
            Ok(0)
        }
        Checked::Merge(config) => {
            let manifest = merge::merge(&config, progress)?;
            published(&manifest, &config.out)
        }
        Checked::Run(mut config) => {
            config.settings = settings;
            let manifest = run::run(&config, progress)?;
            published(&manifest, &config.out)
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
