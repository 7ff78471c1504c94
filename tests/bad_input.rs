//! Hostile input, systematically: every file of the corpus `tests/data/bad/` with its
//! expected outcome (an error naming the file and the fix, exit 2, nothing published; or
//! exact reject rows with every good row still matched, exit 1; or a clean run), plus cases
//! too big or too binary to commit (a 10 MB field, Parquet with wrong column types, a
//! truncated Parquet file), and a property test feeding arbitrary bytes and random
//! mutations of a valid file to the reader: it returns an error or rejects, never panics.

mod util;

use std::path::Path;

use polars::prelude::*;
use proptest::prelude::*;

use sstc_match::engine::ingest::ingest;
use sstc_match::engine::reference::Reference;
use sstc_match::io::table::TableSource;
use util::{code, repo, stderr, Csv, Dir};

enum Expect {
    /// Exit 0; these ids have a shortlist.
    Clean(&'static [&'static str]),
    /// Exit 1; one reject (row, column, start of reason); good-a and good-b still matched.
    Reject(&'static [(usize, &'static str, &'static str)]),
    /// Exit 2 with this text on stderr; nothing published.
    Fails(&'static str),
}
use Expect::*;

const GOOD: &[&str] = &["good-a", "good-b"];

/// (file, flags before the file, expectation).
const CORPUS: &[(&str, &str, Expect)] = &[
    ("01-utf8-bom.csv", "--profiles", Clean(GOOD)),
    ("02-crlf.csv", "--profiles", Clean(GOOD)),
    ("03-missing-header.csv", "--profiles", Fails("missing required column(s) id, name, actor_type, country_iso3")),
    ("04-duplicated-header.csv", "--profiles", Fails("column 'id' appears more than once in the header; keep one")),
    ("05-extra-columns.csv", "--profiles", Clean(GOOD)),
    ("06-quoted-commas-newlines.csv", "--profiles", Clean(&["good-a", "good-b", "quoted"])),
    ("07-invalid-utf8.csv", "--profiles", Reject(&[(3, "name", "the value is not valid UTF-8; save the file as UTF-8")])),
    ("08-empty.csv", "--profiles", Fails("the file is empty; it needs a header row")),
    ("09-header-only.csv", "--profiles", Fails("no profile rows to match (only a header?); nothing was published")),
    ("10-duplicate-ids.csv", "--profiles", Reject(&[(3, "id", "duplicate id: also on row(s) 4"), (4, "id", "duplicate id: also on row(s) 3")])),
    ("11-unknown-theme.csv", "--profiles", Reject(&[(3, "needs", "unknown theme id 'social_protecton'; did you mean 'social_protection'?")])),
    ("12-unknown-actor-type.csv", "--profiles", Reject(&[(3, "actor_type", "unknown actor type id 'trade_union'")])),
    ("13-unknown-sector.csv", "--profiles", Reject(&[(3, "sectors", "unknown sector id 'fishery'")])),
    ("14-nan-latitude.csv", "--profiles", Reject(&[(3, "lat", "'NaN' is not a number (latitude)")])),
    ("15-inf-longitude.csv", "--profiles", Reject(&[(3, "lon", "'inf' is not a number (longitude)")])),
    ("16-latitude-out-of-range.csv", "--profiles", Reject(&[(3, "lat", "latitude 95 is outside [-90, 90]")])),
    ("17-value-out-of-range.csv", "--profiles", Reject(&[(3, "v_solidarity", "value score 1.2 is outside [0, 1]")])),
    ("18-only-latitude.csv", "--profiles", Reject(&[(3, "lon", "lat is given but this coordinate is empty")])),
    ("19-unknown-country.csv", "--profiles", Reject(&[(3, "country_iso3", "unknown country code 'XKX'")])),
    ("20-empty-required.csv", "--profiles", Reject(&[(3, "name", "required field is empty; fill it in")])),
    ("21-negative-population.csv", "--profiles", Reject(&[(3, "population", "'-5' is not a whole number")])),
    ("22-bad-capacity.csv", "--profiles", Reject(&[(3, "capacity", "'many' is not a whole number")])),
    ("34-capacity-too-large.csv", "--profiles", Reject(&[(3, "capacity", "'99999999999999999999' is too large (capacity: at most 18446744073709551615)")])),
    ("23-bad-active.csv", "--profiles", Reject(&[(3, "active", "active must be true or false")])),
    ("24-bad-horizon.csv", "--profiles", Reject(&[(3, "horizon", "horizon must be one of short_term, long_term, ad_hoc")])),
    ("25-bad-language.csv", "--profiles", Reject(&[(3, "languages", "'english' is not an ISO 639 language code")])),
    ("26-bad-entity-kind.csv", "--profiles", Reject(&[(3, "entity_kind", "entity_kind must be one of country, organisation, city")])),
    ("27-ragged-row.csv", "--profiles", Reject(&[(3, "id", "the row has 18 fields but the header has 17; a value holding the separator is probably not quoted")])),
    ("28-semicolon-separated.csv", "--profiles", Clean(GOOD)),
    ("29-single-row.csv", "--profiles", Clean(&[])),
    ("30-all-inactive.csv", "--profiles", Clean(&[])),
    ("31-uppercase-header.csv", "--profiles", Clean(GOOD)),
    ("32-not-a-table.txt", "--profiles", Fails("not a CSV or Parquet file; give it a .csv or .parquet extension")),
    ("33-binary-noise.csv", "--profiles", Fails("33-binary-noise.csv: this holds binary data (zero bytes), not CSV text")),
    ("40-weights-unknown-term.toml", "--weights", Fails("unknown term 'expertise'; valid terms: complementarity")),
    ("41-weights-negative.toml", "--weights", Fails("weight of 'geography' is -0.2; a weight is a number from 0 to 1000")),
    ("42-weights-not-toml.toml", "--weights", Fails("expected a TOML file with a [weights] table")),
    ("43-weights-no-table.toml", "--weights", Fails("expected a TOML file with a [weights] table")),
    ("44-weights-string-value.toml", "--weights", Fails("weight of 'geography' is \"high\"")),
    ("45-weights-all-zero.toml", "--weights", Fails("all weights are zero")),
    ("46-development-status-bad-code.csv", "--development-status", Fails("row 2: unknown country code 'XXX'")),
    ("47-development-status-bad-status.csv", "--development-status", Fails("row 1: status 'rich' must be south or north")),
    ("48-compatibility-asymmetric.csv", "--actor-compatibility", Fails("is missing or not symmetric")),
    ("49-exclusions-bad-date.csv", "--exclusions", Fails("row 1, column date: '23/11/2026' is not a date YYYY-MM-DD")),
    ("50-exclusions-no-columns.csv", "--exclusions", Fails("needs columns source_id and target_id")),
];

/// Runs the job with `flag file` (and the corpus's good profiles when the file is not the
/// profile table) and checks the expectation.
fn check(dir: &Dir, file: &Path, flag: &str, expect: &Expect) {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let good = repo("tests/data/bad/01-utf8-bom.csv");
    let mut args = vec!["run", "--out", "out", "--model-dir", "m", "-q", flag, file.to_str().unwrap()];
    if flag != "--profiles" {
        args.extend(["--profiles", good.to_str().unwrap()]);
    }
    let output = dir.run(&args);
    let message = stderr(&output);
    match expect {
        Fails(text) => {
            assert_eq!(code(&output), 2, "{name}: {message}");
            assert!(message.contains(text), "{name}: expected '{text}' in: {message}");
            assert!(!dir.path("out/shortlist.csv").exists(), "{name}: nothing published");
        }
        Clean(ids) => {
            assert_eq!(code(&output), 0, "{name}: {message}");
            let partners = Csv::read(&dir.path("out/shortlist.csv")).column("partner_id");
            for id in *ids {
                assert!(partners.iter().any(|p| p == id), "{name}: {id} matched");
            }
        }
        Reject(expected) => {
            assert_eq!(code(&output), 1, "{name}: {message}");
            let rejects = Csv::read(&dir.path("out/rejects.csv"));
            assert_eq!(rejects.len(), expected.len(), "{name}: reject count");
            for (r, (row, column, reason)) in expected.iter().enumerate() {
                assert_eq!(rejects.get(r, "file"), file.to_str().unwrap(), "{name}");
                assert_eq!(rejects.get(r, "row"), row.to_string(), "{name}");
                assert_eq!(rejects.get(r, "column"), *column, "{name}");
                assert!(rejects.get(r, "reason").starts_with(reason), "{name}: {}", rejects.get(r, "reason"));
            }
            let partners = Csv::read(&dir.path("out/shortlist.csv")).column("partner_id");
            for id in GOOD {
                assert!(partners.iter().any(|p| p == id), "{name}: {id} still matched");
            }
        }
    }
}

#[test]
fn every_corpus_file_has_its_expected_outcome() {
    let corpus = repo("tests/data/bad");
    let files = std::fs::read_dir(&corpus).unwrap().filter(|e| {
        let name = e.as_ref().unwrap().file_name();
        name != "README.md"
    });
    assert_eq!(files.count(), CORPUS.len() + 1, "every corpus file is listed once (51-known is for evaluate)");
    for (file, flag, expect) in CORPUS {
        check(&Dir::new(), &corpus.join(file), flag, expect);
    }
}

#[test]
fn known_partnerships_without_the_columns_fail_clearly() {
    let dir = Dir::new();
    let profiles = repo("tests/data/bad/01-utf8-bom.csv");
    let known = repo("tests/data/bad/51-known-no-columns.csv");
    let output = dir.run(&["evaluate", "--profiles", profiles.to_str().unwrap(), "--known", known.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("the known-partnerships table needs columns source_id and target_id"));
}

fn good_rows() -> String {
    std::fs::read_to_string(repo("tests/data/bad/02-crlf.csv")).unwrap().replace("\r\n", "\n")
}

#[test]
fn a_10_mb_field_is_rejected_without_harm() {
    let dir = Dir::new();
    let huge = "x".repeat(10 << 20);
    let text = format!("{}huge,{huge},cso_ngo,KEN,,,,,,osh,,,,,,,\n", good_rows());
    let file = dir.write("huge.csv", &text);
    check(&dir, &file, "--profiles", &Reject(&[(3, "name", "the value is 10485760 bytes long; at most 10000 are accepted")]));
}

fn write_parquet(path: &Path, mut frame: DataFrame) {
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut frame).unwrap();
}

#[test]
fn parquet_with_wrong_column_types() {
    let dir = Dir::new();
    // Numbers where text is expected and text where numbers are: read as text, then judged.
    let frame = df![
        "id" => [1i64, 2],
        "name" => ["One", "Two"],
        "actor_type" => ["cso_ngo", "cso_ngo"],
        "country_iso3" => ["KEN", "KEN"],
        "offers" => ["osh", "osh"],
        "lat" => ["north", "-1.3"],
        "lon" => [36.8f64, 36.8],
        "active" => [true, false],
    ]
    .unwrap();
    let path = dir.path("types.parquet");
    write_parquet(&path, frame);
    let output = dir.run(&["run", "--profiles", path.to_str().unwrap(), "--out", "out", "--model-dir", "m", "-q"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let rejects = Csv::read(&dir.path("out/rejects.csv"));
    assert_eq!((rejects.get(0, "row"), rejects.get(0, "column"), rejects.get(0, "value")), ("1".into(), "lat".into(), "north".into()));

    // A nested column cannot be read as text at all: a clear file-level error.
    let nested = df!["id" => ["a"], "name" => ["A"], "actor_type" => ["cso_ngo"], "country_iso3" => ["KEN"]]
        .unwrap()
        .hstack(&[Series::new("offers".into(), [Series::new("".into(), ["osh", "hiv_aids"])]).into()])
        .unwrap();
    let path = dir.path("nested.parquet");
    write_parquet(&path, nested);
    let output = dir.run(&["run", "--profiles", path.to_str().unwrap(), "--out", "out2", "--model-dir", "m", "-q"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("column 'offers' has type list[str], which cannot be read as text"), "{}", stderr(&output));
}

#[test]
fn a_truncated_parquet_file_fails_clearly() {
    let dir = Dir::new();
    let path = dir.path("p.parquet");
    dir.run(&["generate", "--n", "50", "--out", path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    for cut in [8, bytes.len() / 2, bytes.len() - 3] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let output = dir.run(&["run", "--profiles", path.to_str().unwrap(), "--out", "out", "--model-dir", "m", "-q"]);
        assert_eq!(code(&output), 2, "cut at {cut}");
        assert!(stderr(&output).contains("p.parquet: not a valid Parquet table"), "cut at {cut}: {}", stderr(&output));
    }
}

/// Ingest must answer (Ok with rejects, or Err), never panic, for any bytes.
fn reader_answers(bytes: &[u8], extension: &str) {
    let dir = Dir::new();
    let path = dir.path(&format!("x.{extension}"));
    std::fs::write(&path, bytes).unwrap();
    let outcome = std::panic::catch_unwind(|| ingest(&TableSource::File(path.clone()), Reference::builtin()).map(|i| i.rows_read));
    assert!(outcome.is_ok(), "the reader panicked on {} bytes", bytes.len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        reader_answers(&bytes, "csv");
        reader_answers(&bytes, "parquet");
    }

    #[test]
    fn mutations_of_a_valid_file_never_panic_the_reader(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = good_rows().into_bytes();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1).max(1));
        reader_answers(&bytes, "csv");
    }
}
