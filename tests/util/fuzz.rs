//! What the fuzz targets drive, shared by `fuzz/` (libFuzzer, `cargo fuzz`) and the corpus
//! replay of the test suite (`tests/fuzz_corpus.rs`): each takes arbitrary bytes and must
//! answer with a value or an error, never a panic.
#![allow(dead_code, reason = "each fuzz target uses one of these")]

use clap::Parser;
use sstc_match::cli::Cli;
use sstc_match::config::{weights, Checked};
use sstc_match::engine::features::development_overrides;
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::reference::{compatibility, Reference};
use sstc_match::io::pairs::{read_pairs, PairTable};
use sstc_match::io::table::{all_columns, StringTable, TableFormat, TableSource};

/// A fuzz target: arbitrary bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/` file and corpus folder.
pub const TARGETS: [(&str, Target); 6] = [
    ("profiles_csv", profiles_csv),
    ("profiles_parquet", profiles_parquet),
    ("weights_file", weights_file),
    ("pair_tables", pair_tables),
    ("settings_tables", settings_tables),
    ("flags", flags),
];

fn source(data: &[u8], format: TableFormat) -> TableSource {
    TableSource::Bytes { name: "fuzz input".into(), bytes: data.to_vec().into(), format }
}

/// The profile reader on a CSV file: rows validated into profiles or rejects.
pub fn profiles_csv(data: &[u8]) {
    let _ = ingest(&source(data, TableFormat::Csv), Reference::builtin());
}

/// The profile reader on a Parquet file.
pub fn profiles_parquet(data: &[u8]) {
    let _ = ingest(&source(data, TableFormat::Parquet), Reference::builtin());
}

/// A weights file's text.
pub fn weights_file(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = weights::apply_file(&mut weights::default_weights(), text, "fuzz input");
    }
}

/// The pair tables: exclusions, suppression, known partnerships.
pub fn pair_tables(data: &[u8]) {
    for kind in [PairTable::Exclusions, PairTable::Known] {
        let _ = read_pairs(&source(data, TableFormat::Csv), kind);
    }
}

/// The settings tables: development status overrides and an actor-type compatibility table.
pub fn settings_tables(data: &[u8]) {
    if let Ok(table) = StringTable::read_hashed(&source(data, TableFormat::Csv), &all_columns) {
        let reference = Reference::builtin();
        let _ = development_overrides(&table.0, reference);
        let _ = compatibility(&table.0, &reference.actor_types);
    }
}

/// The flag parser and the checks of every command's flags: the input is the arguments,
/// separated by NUL bytes. Arguments naming `/dev` or `/proc` are skipped: `--weights
/// /dev/stdin` would wait for input that never comes (`/dev/zero` is a regression test).
pub fn flags(data: &[u8]) {
    let args = data.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned());
    let args: Vec<String> = std::iter::once("sstc-match".to_string()).chain(args).collect();
    if args.iter().any(|arg| arg.contains("/dev/") || arg.contains("/proc/")) {
        return;
    }
    if let Ok(cli) = Cli::try_parse_from(args) {
        let _ = Checked::resolve(&cli.command);
    }
}
