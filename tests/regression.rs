//! Regressions, one test per defect, named after its issue and number (ripgrep's habit):
//! `issue14_NN_...` are the defects found by hostile use (issue 14). Each failed before its
//! fix. They drive the real binary on real files, like a user.

mod util;

use std::path::Path;
use std::process::Command;

use util::{code, repo, stderr, Csv, Dir};

/// The files of a directory, by name, with their bytes (to show nothing was touched).
fn snapshot(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path.join("manifest.json")).unwrap()).unwrap()
}

/// The example set: 82 real profiles, a run of which takes a fraction of a second.
fn examples() -> String {
    repo("data/examples/profiles.csv").display().to_string()
}

/// A good run of the example set in `dir/out`.
fn good_run(dir: &Dir, out: &str) {
    let output = dir.run(&["run", "--profiles", &examples(), "--out", out, "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}

fn refused(output: &std::process::Output, message: &str) {
    assert_eq!(code(output), 2, "{}", stderr(output));
    assert!(stderr(output).contains(message), "expected '{message}' in: {}", stderr(output));
}

#[test]
fn issue14_01_out_naming_a_file_is_refused_and_the_file_kept() {
    let dir = Dir::new();
    dir.write("out", "a user's file");
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "-q"]), "out is a file, not a directory");
    assert_eq!(std::fs::read_to_string(dir.path("out")).unwrap(), "a user's file");
    assert!(!dir.path("out.staging").exists());
}

#[test]
fn issue14_02_out_a_symlink_is_refused_and_left_a_link() {
    let dir = Dir::new();
    good_run(&dir, "target");
    let before = snapshot(&dir.path("target"));
    std::os::unix::fs::symlink(dir.path("target"), dir.path("link")).unwrap();
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "link", "-q", "--top-k", "3"]), "is a symbolic link to");
    assert!(std::fs::symlink_metadata(dir.path("link")).unwrap().file_type().is_symlink());
    assert_eq!(snapshot(&dir.path("target")), before);
}

#[test]
fn issue14_03_someone_elses_directory_with_a_manifest_is_not_deleted() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path("theirs")).unwrap();
    dir.write("theirs/manifest.json", "{\"their\": \"manifest\"}");
    dir.write("theirs/thesis.docx", "precious");
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "theirs", "-q"]), "is not a run directory of sstc-match");
    assert_eq!(std::fs::read_to_string(dir.path("theirs/thesis.docx")).unwrap(), "precious");
}

#[test]
fn issue14_04_a_users_out_previous_or_out_staging_is_not_deleted() {
    for beside in ["out.previous", "out.staging"] {
        let dir = Dir::new();
        good_run(&dir, "out");
        std::fs::create_dir(dir.path(beside)).unwrap();
        dir.write(&format!("{beside}/mine.txt"), "mine");
        refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "-q"]), "was not made by sstc-match");
        assert_eq!(std::fs::read_to_string(dir.path(&format!("{beside}/mine.txt"))).unwrap(), "mine", "{beside}");
    }
}

#[test]
fn issue14_05_model_or_matrix_directories_inside_out_are_refused() {
    let dir = Dir::new();
    good_run(&dir, "out");
    let before = snapshot(&dir.path("out"));
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--model-dir", "out/models", "-q"]), "--model-dir out/models lies inside the output directory out");
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--export-matrices", "out/mat", "-q"]), "--export-matrices out/mat lies inside");
    assert_eq!(snapshot(&dir.path("out")), before, "nothing published");
}

#[test]
fn issue14_06_the_analysts_files_in_out_survive_the_next_night() {
    let dir = Dir::new();
    good_run(&dir, "out");
    assert_eq!(code(&dir.run(&["report", "out"])), 0);
    std::fs::create_dir(dir.path("out/tuned")).unwrap();
    dir.write("out/tuned/notes.txt", "my notes");
    // A run inside another run's directory would be moved by that run's next swap.
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out/default", "-q"]), "lies inside the run directory");
    let report = std::fs::read(dir.path("out/report.html")).unwrap();
    let again = dir.run(&["run", "--profiles", &examples(), "--out", "out", "--top-k", "4", "-q"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(manifest(&dir.path("out"))["config"]["top_k"], 4, "the new run is published");
    assert_eq!(std::fs::read(dir.path("out/report.html")).unwrap(), report, "the report is kept");
    assert_eq!(std::fs::read_to_string(dir.path("out/tuned/notes.txt")).unwrap(), "my notes");
}

#[test]
fn issue14_07_no_run_writes_a_shared_model_and_reuse_checks_the_registry() {
    let dir = Dir::new();
    good_run(&dir, "out");
    assert!(!dir.path("models").exists(), "a plain run writes no model directory");
    // A model fitted on the 82 example profiles is not used for the shipped default set.
    assert_eq!(code(&dir.run(&["run", "--profiles", &examples(), "--out", "ex", "--model-dir", "m", "-q"])), 0);
    refused(&dir.run(&["run", "--out", "default", "--model-dir", "m", "--reuse-model", "-q"]), "fitted on");
    // Reused on its own registry (from the last run in --out), it is.
    let reuse = dir.run(&["run", "--profiles", &examples(), "--out", "out", "--reuse-model", "-q"]);
    assert_eq!(code(&reuse), 0, "{}", stderr(&reuse));
    assert!(manifest(&dir.path("out"))["model"]["reused_from"].as_str().unwrap().ends_with("out/centroids.json"));
}

#[test]
fn issue14_08_out_dot_works_in_an_empty_directory_and_out_root_is_refused() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path("here")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sstc-match"))
        .args(["run", "--profiles", &examples(), "--out", ".", "-q"])
        .current_dir(dir.path("here"))
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(dir.path("here/manifest.json").exists());
    assert!(dir.path("here.lock").exists() && !dir.path("here/here.lock").exists(), "the lock is beside the directory");
    let root_lock_before = Path::new("/out.lock").exists();
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "/", "-q"]), "the root directory cannot be a run directory");
    assert_eq!(Path::new("/out.lock").exists(), root_lock_before, "nothing left in /");
}

#[test]
fn issue14_09_an_input_of_rejected_rows_does_not_replace_a_good_run() {
    let dir = Dir::new();
    good_run(&dir, "out");
    let before = snapshot(&dir.path("out"));
    dir.write("bad.csv", "id,name,actor_type,country_iso3\na,A,no_such_type,SEN\nb,B,no_such_type,SEN\nc,C,local_authority,XXX\n");
    refused(&dir.run(&["run", "--profiles", "bad.csv", "--out", "out", "-q"]), "3 of 3 rows rejected, more than --max-reject-share 0.5");
    assert_eq!(snapshot(&dir.path("out")), before, "last night's run stays");
    let anyway = dir.run(&["run", "--profiles", "bad.csv", "--out", "out", "-q", "--max-reject-share", "1"]);
    assert_eq!(code(&anyway), 1, "published when asked: {}", stderr(&anyway));
    assert_eq!(manifest(&dir.path("out"))["input"]["rows_rejected"], 3);
}

#[test]
fn issue14_10_a_huge_top_k_neither_panics_nor_allocates() {
    let dir = Dir::new();
    let output = dir.run(&["run", "--profiles", &examples(), "--out", "out", "--top-k", "2305843009213693952", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let explain = dir.run(&["explain", "fenamutra", "coopfenamutra", "--profiles", &examples(), "--top-k", "18446744073709551615"]);
    assert_eq!(code(&explain), 0, "{}", stderr(&explain));
}

#[test]
fn issue14_14_campaign_suppression_dates_and_columns_are_checked() {
    let dir = Dir::new();
    good_run(&dir, "out");
    dir.write("s1.csv", "source_id,target_id,date\nfenamutra,coopfenamutra,23/11/2026\n");
    refused(&dir.run(&["campaign", "--run", "out", "--out", "camp", "--suppress", "s1.csv"]), "row 1, column date: '23/11/2026' is not a date YYYY-MM-DD");
    dir.write("s2.csv", "a,b\nfenamutra,coopfenamutra\n");
    refused(&dir.run(&["campaign", "--run", "out", "--out", "camp", "--suppress", "s2.csv"]), "the suppression table needs columns source_id and target_id");
}

#[test]
fn issue14_15_settings_files_count_by_content_not_path() {
    let dir = Dir::new();
    let run = |out: &str| {
        let output = dir.run(&["run", "--profiles", &examples(), "--out", out, "--exclusions", "ex.csv", "-q"]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        manifest(&dir.path(out))["run_id"].as_str().unwrap().to_string()
    };
    dir.write("ex.csv", "source_id,target_id\nfenamutra,coopfenamutra\n");
    let first = run("a");
    dir.write("ex.csv", "source_id,target_id\nsewa,vimosewa\n");
    let second = run("b");
    assert_ne!(first, second, "different exclusions, a different run");
    let diff = String::from_utf8(dir.run(&["diff", "a", "b"]).stdout).unwrap();
    assert!(diff.contains("input.settings_files"), "{diff}");
}

#[test]
fn issue14_21_the_disk_estimate_counts_at_most_every_other_partner() {
    let estimate = sstc_match::output::shortlist::estimated_bytes;
    assert!(estimate(2000, 100_000) < 5 << 30, "2,000 partners list 1,999 others at most");
    assert_eq!(estimate(2000, usize::MAX), estimate(2000, 1999));
    assert!(estimate(usize::MAX, usize::MAX) > 0, "saturates, never wraps to 0");
}

#[test]
fn issue14_23_a_corrupted_manifest_is_named() {
    let dir = Dir::new();
    good_run(&dir, "out");
    dir.write("out/manifest.json", "{ truncated");
    refused(&dir.run(&["evaluate", "--run", "out", "--known", &repo("data/examples/known_partnerships.csv").display().to_string()]), "manifest.json: the manifest cannot be read");
}

#[test]
fn issue14_25_nonsense_settings_are_refused() {
    let dir = Dir::new();
    let known = repo("data/examples/known_partnerships.csv").display().to_string();
    let e = examples();
    refused(&dir.run(&["explain", "fenamutra", "coopfenamutra", "--profiles", &e, "--top-k", "0"]), "--top-k 0: must be at least 1");
    refused(&dir.run(&["evaluate", "--known", &known, "--profiles", &e, "--k", "0"]), "--top-k 0: must be at least 1");
    refused(&dir.run(&["evaluate", "--known", &known, "--profiles", &e, "--top-k", "0"]), "--top-k 0: must be at least 1");
    refused(&dir.run(&["sensitivity", "--profiles", &e, "--delta", "NaN"]), "--delta NaN: must be a positive number");
    refused(&dir.run(&["tune", "--known", &known, "--profiles", &e, "--folds", "0", "--out", "w.toml"]), "--folds 0: must be at least 2");
    refused(&dir.run(&["groups", "--partner", "fenamutra", "--profiles", &e, "--size", "0"]), "--size 0: must be at least 4");
    dir.write("nobody.csv", "source_id,target_id\nx,y\n");
    refused(&dir.run(&["tune", "--known", "nobody.csv", "--profiles", &e, "--out", "w.toml"]), "nothing to tune on");
    assert!(!dir.path("w.toml").exists(), "no weights written");
}

#[test]
fn issue14_27_sigterm_leaves_no_staging_and_the_last_run() {
    let dir = Dir::new();
    good_run(&dir, "out");
    let before = snapshot(&dir.path("out"));
    assert_eq!(code(&dir.run(&["generate", "--n", "20000", "--seed", "4", "--out", "p.csv"])), 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sstc-match"))
        .args(["run", "--profiles", "p.csv", "--out", "out", "-q", "--threads", "1"])
        .current_dir(dir.root.path())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !dir.path("out.staging").exists() {
        assert!(std::time::Instant::now() < deadline, "the run started writing");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rustix::process::kill_process(rustix::process::Pid::from_child(&child), rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15));
    assert!(!dir.path("out.staging").exists(), "the staging directory is gone");
    assert_eq!(std::fs::read_to_string(dir.path("out.lock")).unwrap(), "", "no stale stamp");
    assert_eq!(snapshot(&dir.path("out")), before);
    let next = dir.run(&["run", "--profiles", &examples(), "--out", "out", "-q"]);
    assert_eq!(code(&next), 0, "{}", stderr(&next));
    assert!(!stderr(&next).contains("recovered"), "{}", stderr(&next));
    let _ = Csv::read(&dir.path("out/shortlist.csv"));
}

/// Two good profiles in the contract, as CSV lines after a header (a city and a cooperative
/// that match each other).
const HEADER: &str = "id,name,actor_type,country_iso3,offers,needs,lat,lon";
const GOOD_ROWS: &str = "a,Alpha,local_authority,SEN,informal_economy,urban_development,14.7,-17.4\nb,Beta,sse_unit,SEN,urban_development,informal_economy,14.8,-16.9\n";

fn run_on(dir: &Dir, file: &str) -> std::process::Output {
    dir.run(&["run", "--profiles", file, "--out", &format!("out-{file}"), "-q", "--max-reject-share", "1"])
}

fn rejects_of(dir: &Dir, file: &str) -> Vec<(String, String, String, String)> {
    let rejects = Csv::read(&dir.path(&format!("out-{file}/rejects.csv")));
    (0..rejects.len()).map(|r| (rejects.get(r, "row"), rejects.get(r, "column"), rejects.get(r, "value"), rejects.get(r, "reason"))).collect()
}

fn parquet(path: &Path, columns: Vec<polars::prelude::Column>) {
    use polars::prelude::*;
    let mut frame = DataFrame::new(2, columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap()).finish(&mut frame).unwrap();
}

fn good_columns() -> Vec<polars::prelude::Column> {
    use polars::prelude::*;
    let text = |name: &str, values: [&str; 2]| Column::new(name.into(), values);
    vec![
        text("id", ["a", "b"]),
        text("name", ["Alpha", "Beta"]),
        text("actor_type", ["local_authority", "sse_unit"]),
        text("country_iso3", ["SEN", "SEN"]),
        text("offers", ["informal_economy", "urban_development"]),
        text("needs", ["urban_development", "informal_economy"]),
    ]
}

#[test]
fn issue14_11_and_19_parquet_columns_of_any_common_type_are_read_or_ignored() {
    use polars::prelude::*;
    let dir = Dir::new();
    let two = |values: [i64; 2]| Series::new("x".into(), values);
    let extra: Vec<(&str, Series)> = vec![
        ("decimal", two([150, 225]).cast(&DataType::Decimal(10, 2)).unwrap()),
        ("category", Series::new("x".into(), ["p", "q"]).cast(&DataType::from_categories(Categories::global())).unwrap()),
        ("date", two([18_000, 18_001]).cast(&DataType::Int32).unwrap().cast(&DataType::Date).unwrap()),
        ("timestamp", two([1, 2]).cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).unwrap()),
        ("time", two([1_000, 2_000]).cast(&DataType::Time).unwrap()),
        ("duration", two([1, 2]).cast(&DataType::Duration(TimeUnit::Milliseconds)).unwrap()),
        ("nothing", Series::full_null("x".into(), 2, &DataType::Null)),
        ("int8", two([1, 2]).cast(&DataType::Int8).unwrap()),
        ("uint16", two([1, 2]).cast(&DataType::UInt16).unwrap()),
        ("float16", Series::new("x".into(), [1.5f32, 2.5]).cast(&DataType::Float16).unwrap()),
        ("a_duplicated_0", Series::new("x".into(), ["m", "n"])),
    ];
    for (name, series) in extra {
        let file = format!("{name}.parquet");
        let mut columns = good_columns();
        columns.push(series.with_name(name.into()).into());
        parquet(&dir.path(&file), columns);
        let output = run_on(&dir, &file);
        assert_eq!(code(&output), 0, "an ignored {name} column: {}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{name}");
    }
    // In a contract column, such types are read as text and judged like any value.
    let mut columns = good_columns();
    columns[2] = columns[2].cast(&DataType::from_categories(Categories::global())).unwrap();
    columns.push(Series::new("capacity".into(), [1i64, 2]).cast(&DataType::Int8).unwrap().into());
    columns.push(Series::new("population".into(), [1000i64, 2000]).cast(&DataType::Decimal(10, 0)).unwrap().into());
    parquet(&dir.path("contract.parquet"), columns);
    assert_eq!(code(&run_on(&dir, "contract.parquet")), 0);
}

#[test]
fn issue14_12_a_header_name_written_twice_is_an_error() {
    let dir = Dir::new();
    for (file, header) in [("case.csv", "id,name,actor_type,country_iso3,NAME"), ("space.csv", "id,name,actor_type,country_iso3,name ")] {
        dir.write(file, &format!("{header}\na,Alpha,local_authority,SEN,x\n"));
        refused(&run_on(&dir, file), "are one name ('name') written twice in the header; keep one");
    }
}

#[test]
fn issue14_16_a_row_with_too_few_fields_is_rejected_by_id() {
    let dir = Dir::new();
    dir.write("few.csv", &format!("{HEADER}\n{GOOD_ROWS}c,Gamma,sse_unit,SEN\n"));
    assert_eq!(code(&run_on(&dir, "few.csv")), 1);
    let rejects = rejects_of(&dir, "few.csv");
    assert_eq!(rejects.len(), 1);
    assert_eq!((rejects[0].0.as_str(), rejects[0].1.as_str(), rejects[0].2.as_str()), ("3", "id", "c"));
    assert!(rejects[0].3.starts_with("the row has 4 fields but the header has 8"), "{}", rejects[0].3);
}

#[test]
fn issue14_17_invalid_utf8_rejects_its_own_row_only() {
    let dir = Dir::new();
    let mut bytes = format!("{HEADER}\n{GOOD_ROWS}c,Caf\u{fffd} Gamma,sse_unit,SEN,urban_development,informal_economy,,\n").into_bytes();
    bytes.extend_from_slice(b"d,Bad \xff Delta,sse_unit,SEN,urban_development,informal_economy,,\n");
    std::fs::write(dir.path("mixed.csv"), bytes).unwrap();
    assert_eq!(code(&run_on(&dir, "mixed.csv")), 1);
    let rejects = rejects_of(&dir, "mixed.csv");
    assert_eq!(rejects.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect::<Vec<_>>(), vec![("4", "name")], "a genuine U+FFFD is a character");
}

#[test]
fn issue14_20_ten_thousand_rows_sharing_an_id_name_a_few_others() {
    let dir = Dir::new();
    let row = "same,Same,local_authority,SEN,informal_economy,urban_development,,\n";
    dir.write("dups.csv", &format!("{HEADER}\n{}", row.repeat(10_000)));
    let size = std::fs::metadata(dir.path("dups.csv")).unwrap().len();
    refused(&dir.run(&["run", "--profiles", "dups.csv", "--out", "out", "-q"]), "10000 of 10000 rows rejected");
    // Published anyway, the rejects stay a few lines per row.
    let output = dir.run(&["run", "--profiles", "dups.csv", "--out", "all", "-q", "--max-reject-share", "1"]);
    assert_eq!(code(&output), 1);
    let rejects = std::fs::read_to_string(dir.path("all/rejects.csv")).unwrap();
    assert!(rejects.contains("also on row(s) 2, 3, 4, 5, 6 and 9994 more"), "{}", &rejects[..400]);
    assert!((rejects.len() as u64) < 20 * size, "rejects grow with the rows, not with their square");
}

#[test]
fn issue14_22_a_parquet_file_decoding_past_the_memory_limit_is_refused() {
    use polars::prelude::*;
    use std::os::unix::process::CommandExt;
    let dir = Dir::new();
    // 60 row groups of 16,384 names of 1,000 bytes: a small file that decodes to a gigabyte.
    let rows = 1 << 14;
    let long = "x".repeat(1000);
    let repeated = |name: &str, value: &str| Column::new(name.into(), vec![value; rows]);
    let group = DataFrame::new(
        rows,
        vec![repeated("id", "a"), repeated("name", &long), repeated("actor_type", "local_authority"), repeated("country_iso3", "SEN")],
    )
    .unwrap();
    let path = dir.path("big.parquet");
    let mut writer = ParquetWriter::new(std::fs::File::create(&path).unwrap()).with_compression(ParquetCompression::Zstd(None)).batched(group.schema()).unwrap();
    for _ in 0..60 {
        writer.write_batch(&group).unwrap();
    }
    writer.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 20 << 20, "a small file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sstc-match"));
    command.args(["run", "--profiles", "big.parquet", "--out", "out", "-q"]).current_dir(dir.root.path());
    // SAFETY: between fork and exec the child only calls setrlimit, a plain system call.
    unsafe {
        command.pre_exec(|| {
            let limit = rustix::process::Rlimit { current: Some(2 << 30), maximum: None };
            rustix::process::setrlimit(rustix::process::Resource::As, limit).map_err(std::io::Error::from)
        });
    }
    let output = command.output().unwrap();
    refused(&output, "big.parquet: its columns decode to about");
}

#[test]
fn issue14_23_files_that_are_not_csv_say_what_they_are() {
    let dir = Dir::new();
    let text = format!("{HEADER}\n{GOOD_ROWS}");
    std::fs::write(dir.path("cr.csv"), text.replace('\n', "\r")).unwrap();
    assert_eq!(code(&run_on(&dir, "cr.csv")), 0, "CR-only line endings are read");
    assert!(manifest(&dir.path("out-cr.csv"))["input"]["notes"][0].as_str().unwrap().contains("carriage returns only"));
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(dir.path("u16.csv"), utf16).unwrap();
    refused(&run_on(&dir, "u16.csv"), "this is UTF-16 text");
    std::fs::write(dir.path("book.csv"), b"PK\x03\x04\x14\x00\x06\x00 the rest of a workbook").unwrap();
    refused(&run_on(&dir, "book.csv"), "this is an Excel workbook (.xlsx)");
    dir.write("quote.csv", &format!("{HEADER}\nq,\"Quoted,local_authority,SEN,,,,\n{GOOD_ROWS}"));
    // A quote that never closes costs its row, not the file (it used to refuse the file).
    let output = run_on(&dir, "quote.csv");
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let rejects = std::fs::read_to_string(dir.path("out-quote.csv/rejects.csv")).unwrap();
    assert!(rejects.contains("a quote opens a field that never closes") && rejects.lines().count() == 2, "{rejects}");
    dir.write("quote-header.csv", &format!("\"{HEADER}\n{GOOD_ROWS}"));
    refused(&run_on(&dir, "quote-header.csv"), "the header: a quote opens a field that never closes");
    std::fs::write(dir.path("latin1.csv"), format!("{HEADER}\n").into_bytes().into_iter().chain(b"a,Caf\xe9 Alpha,local_authority,SEN,,,,\n".iter().copied()).collect::<Vec<u8>>()).unwrap();
    refused(&run_on(&dir, "latin1.csv"), "it looks like Latin-1 or Windows-1252");
    dir.write("semi.csv", "id;name;actor_type;country_iso3;offers;needs;lat;lon\na;Alpha;local_authority;SEN;informal_economy;urban_development;14,7;-17,4\nb;Beta;sse_unit;SEN;urban_development;informal_economy;14,8;-16,9\n");
    assert_eq!(code(&run_on(&dir, "semi.csv")), 0, "a ';' file with decimal commas is read");
    assert!(manifest(&dir.path("out-semi.csv"))["input"]["notes"][0].as_str().unwrap().contains("separated by ';'"));
}

#[test]
fn issue14_26_a_row_with_too_many_fields_names_its_id() {
    let dir = Dir::new();
    dir.write("many.csv", &format!("{HEADER}\n{GOOD_ROWS}c,Gamma, the cooperative,sse_unit,SEN,,,,\n"));
    assert_eq!(code(&run_on(&dir, "many.csv")), 1);
    let rejects = rejects_of(&dir, "many.csv");
    assert_eq!((rejects[0].0.as_str(), rejects[0].1.as_str(), rejects[0].2.as_str()), ("3", "id", "c"));
}

#[test]
fn issue14_13_a_weight_that_would_overflow_the_scores_is_refused() {
    let dir = Dir::new();
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--weight", "values=3.4e38", "-q"]), "a weight is a number from 0 to 1000");
    dir.write("w.toml", "[weights]\ngeography = 1e30\n");
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--weights", "w.toml", "-q"]), "weight of 'geography' is 1000000000000000000000000000000");
    // The largest weight allowed keeps every score finite and lists ranked by score.
    let output = dir.run(&["run", "--profiles", &examples(), "--out", "out", "--weight", "values=1000", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let scores: Vec<f64> = Csv::read(&dir.path("out/shortlist.csv")).column("score").iter().map(|s| s.parse().unwrap()).collect();
    assert!(scores.iter().all(|s| s.is_finite()) && scores.iter().any(|&s| s > 100.0));
}

#[test]
fn issue14_30_a_weights_file_that_never_ends_is_refused() {
    // Found while writing the flags fuzz target: `--weights /dev/zero` read until memory ran out.
    let dir = Dir::new();
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--weights", "/dev/zero", "-q"]), "/dev/zero: longer than 1024 KiB");
    refused(&dir.run(&["run", "--profiles", &examples(), "--out", "out", "--weights", ".", "-q"]), "Is a directory");
    assert!(!dir.path("out").exists());
}

#[test]
fn issue14_30_a_parquet_page_header_with_a_negative_count_is_an_error_not_an_abort() {
    // Found by the profiles_parquet fuzz target: three flipped bits made a page header count
    // -31 values; polars took that for a size, tried to allocate 2^61 bytes and aborted.
    refuses_fuzz_input("negative_page_value_count", "column roles, row group 0: a page header counts [-31] values in a group of 30 rows; the file is damaged");
}

/// Runs the profiles_parquet fuzz input `name` (as `p.parquet`) and checks the run is
/// refused with `message`.
fn refuses_fuzz_input(name: &str, message: &str) {
    let dir = Dir::new();
    std::fs::copy(repo(&format!("fuzz/corpus/profiles_parquet/{name}")), dir.path("p.parquet")).unwrap();
    refused(&dir.run(&["run", "--profiles", "p.parquet", "--out", "out", "-q"]), message);
}

#[test]
fn a_damaged_parquet_footer_is_an_error_not_an_abort() {
    // Found by the profiles_parquet fuzz target: polars sized a list of the damaged footer
    // from its count before reading it and aborted on the allocation; the footer is now
    // walked first (its unit test: a list counting more entries than bytes).
    refuses_fuzz_input("damaged_footer", "p.parquet: not a valid Parquet table (a number in the footer runs past 64 bits; the file is damaged)");
}

#[test]
fn issue14_30_a_parquet_column_shorter_than_its_table_is_an_error_not_a_panic() {
    // Found by the profiles_parquet fuzz target: a damaged file whose v_social_dialogue
    // column decoded to no values in a 30-row table; reading a cell of it panicked.
    refuses_fuzz_input("column_shorter_than_table", "column 'v_social_dialogue' decodes to 0 values for 30 rows; the file is damaged");
}

#[test]
fn a_parquet_decimal_column_with_a_precision_out_of_range_is_an_error_not_a_panic() {
    // Found by the profiles_parquet fuzz target in CI: one flipped bit gave the decimal
    // column 'population' a precision polars refuses; casting the sampled rows to text (to
    // bound what the file decodes to) panicked inside polars, outside the guarded reads.
    refuses_fuzz_input("decimal_precision_out_of_range", "p.parquet: not a valid Parquet table (column 'population' of type decimal[12583690,0] cannot be read as text");
}

#[test]
fn a_parquet_datetime_out_of_the_calendar_after_the_sampled_rows_is_an_error_not_a_panic() {
    // A valid file: polars reads the datetime column but panics casting a value beyond the
    // calendar's range to text. The reader samples the first 1,024 rows first, so only the
    // cast of the whole column met it, and that one was unguarded.
    use polars::prelude::*;
    let dir = Dir::new();
    let rows = 2000;
    let text = |name: &str, value: &str| Column::new(name.into(), vec![value; rows]);
    let ids: Vec<String> = (0..rows).map(|i| format!("p{i}")).collect();
    let mut stamps = vec![0i64; rows];
    stamps[1500] = i64::MAX;
    let capacity = Column::new("capacity".into(), stamps).cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).unwrap();
    let columns = vec![Column::new("id".into(), ids), text("name", "Coop"), text("actor_type", "ngo"), text("country_iso3", "SEN"), text("offers", "informal_economy"), text("needs", "urban_development"), capacity];
    let mut frame = DataFrame::new(rows, columns).unwrap();
    ParquetWriter::new(std::fs::File::create(dir.path("p.parquet")).unwrap()).finish(&mut frame).unwrap();
    refused(
        &dir.run(&["run", "--profiles", "p.parquet", "--out", "out", "-q"]),
        "p.parquet: not a valid Parquet table (column 'capacity' of type datetime[ms] cannot be read as text: a value is out of the type's range, or damaged)",
    );
    assert!(!dir.path("out").exists(), "nothing published");
}

#[test]
fn issue14_18_the_generators_own_output_is_accepted() {
    let dir = Dir::new();
    assert_eq!(code(&dir.run(&["generate", "--n", "20000", "--seed", "42", "--out", "g.parquet"])), 0);
    let output = dir.run(&["run", "--profiles", "g.parquet", "--out", "out", "-q"]);
    assert_eq!(code(&output), 0, "no row of the generator's is rejected: {}", stderr(&output));
}

#[test]
fn issue14_24_terminal_escapes_in_names_are_shown_not_obeyed() {
    let dir = Dir::new();
    dir.write("esc.csv", "id,name,actor_type,country_iso3,offers,needs\na,Evil \u{1b}[2J\u{1b}]0;pwned\u{7} coop,local_authority,SEN,informal_economy,urban_development\nb,Beta,sse_unit,SEN,urban_development,informal_economy\n");
    let explain = dir.run(&["explain", "a", "b", "--profiles", "esc.csv"]);
    assert_eq!(code(&explain), 0, "{}", stderr(&explain));
    let out = String::from_utf8(explain.stdout).unwrap();
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("Evil \\u{1b}[2J"), "{out}");
    let error = dir.run(&["explain", "a", "\u{1b}[31mred", "--profiles", "esc.csv"]);
    assert_eq!(code(&error), 2);
    assert!(!stderr(&error).contains('\u{1b}'), "{:?}", stderr(&error));
}

#[test]
fn issue14_28_a_closed_pipe_ends_quietly() {
    let dir = Dir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sstc-match"))
        .args(["sensitivity", "--profiles", &examples()])
        .current_dir(dir.root.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the report is written
    let output = child.wait_with_output().unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}
