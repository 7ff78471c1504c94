//! Shared test harness: run the real binary in a temporary directory, read its CSV outputs
//! through the engine's own table reader.
#![allow(dead_code, reason = "each test binary uses a different part of the harness")]

pub mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sstc_match::io::table::{StringTable, TableSource};

/// A generated profile table of `n` rows (CSV) in `dir`.
pub fn generated(dir: &Dir, n: usize, seed: u64) -> PathBuf {
    let out = dir.path(&format!("g{n}-{seed}.csv"));
    sstc_match::commands::generate::write(&sstc_match::config::GenerateConfig {
        n,
        seed,
        out: out.clone(),
        with_seed_countries: false,
    })
    .expect("generated");
    out
}

/// A scratch directory with helpers to run `sstc-match` in it.
pub struct Dir {
    pub root: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Dir {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    /// Runs `sstc-match ARGS` with this directory as the working directory.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sstc-match"))
            .args(args)
            .current_dir(self.root.path())
            .env_remove("SSTC_LOG")
            .output()
            .expect("the binary runs")
    }
}

/// The repository's file at `relative`.
pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs `sstc-match ARGS` in `dir` and fails the test on a non-zero exit.
pub fn ok(dir: &Dir, args: &[&str]) {
    let output = dir.run(args);
    assert_eq!(code(&output), 0, "sstc-match {args:?}: {}", stderr(&output));
}

/// The manifest without what may differ between a run and its merged twin: times, memory,
/// where it was written, threads, and the merged run's record of its shards.
fn comparable_manifest(dir: &Path) -> serde_json::Value {
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let object = manifest.as_object_mut().unwrap();
    for key in ["timings", "started_at", "finished_at", "peak_rss_mb", "shards"] {
        object.remove(key);
    }
    let config = object["config"].as_object_mut().unwrap();
    for key in ["out", "threads"] {
        config.remove(key);
    }
    let settings = config["settings"].as_object_mut().unwrap();
    for key in ["out", "threads"] {
        settings.remove(key);
    }
    manifest
}

/// A copy of the run directory `from` (files only, the engine's mark with them) at `to`.
pub fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Every file of `a` but those named in `except` is in `b`, byte for byte; returns the
/// names compared.
pub fn assert_same_files(a: &Path, b: &Path, except: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| !except.contains(&n.as_str())).collect();
    names.sort();
    for name in &names {
        let (left, right) = (std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap_or_default());
        assert!(left == right, "{name} differs between {} and {}", a.display(), b.display());
    }
    names
}

/// Every file of the single run is in the merged run, byte for byte (the manifest compared
/// without times and paths).
pub fn assert_same_run(single: &Path, merged: &Path) {
    let names = assert_same_files(single, merged, &["manifest.json"]);
    assert!(["shortlist.parquet", "triads.csv", "resources.csv"].iter().all(|f| names.iter().any(|n| n == f)), "{names:?}");
    assert_eq!(comparable_manifest(single), comparable_manifest(merged));
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// The fields of one CSV record (quoted fields hold commas and doubled quotes).
pub fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => field.push(chars.next().unwrap()),
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// One CSV record of `fields`.
pub fn csv_record(fields: &[String]) -> String {
    let quote = |f: &String| if f.contains([',', '"']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() };
    fields.iter().map(quote).collect::<Vec<_>>().join(",")
}

/// A CSV output as rows of (column → cell) lookups; cells read as a spreadsheet shows them
/// (the engine writes CSV spreadsheet-safe: `'=x` is `=x`).
pub struct Csv {
    pub table: StringTable,
}

impl Csv {
    pub fn read(path: &Path) -> Self {
        Csv {
            table: StringTable::read(&TableSource::File(path.to_path_buf())).expect("readable CSV"),
        }
    }

    pub fn len(&self) -> usize {
        self.table.height()
    }

    pub fn get(&self, row: usize, column: &str) -> String {
        let c = self
            .table
            .position(column)
            .unwrap_or_else(|| panic!("no column {column}"));
        sstc_match::io::table::spreadsheet_value(self.table.cell(c, row).unwrap_or_default()).to_string()
    }

    pub fn column(&self, column: &str) -> Vec<String> {
        (0..self.len()).map(|r| self.get(r, column)).collect()
    }
}
