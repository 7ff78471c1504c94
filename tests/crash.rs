//! Crashes and concurrency:
//! 1. the job killed with SIGKILL at seeded random moments: the output directory always holds
//!    one complete run (every file the manifest lists, with its sha256, and nothing else),
//!    the previous one or the new one, never a mix; the next run starts cleanly;
//! 2. a second job on the same output directory is refused while the first runs; after the
//!    first is killed, its stale lock is detected and the next run proceeds;
//! 3. an output directory that cannot be created fails at once, before any work;
//! 4. contact fields never reach the logs; partner ids never become file paths;
//! 5. killed during an incremental night, last night's run and state are intact, and the
//!    next incremental night still equals a full run.

mod util;

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use util::{code, copy_run, repo, stderr, Dir};

/// The timing-sensitive tests here run one at a time, not beside each other.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start(dir: &Dir, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sstc-match"))
        .args(args)
        .current_dir(dir.root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts")
}

/// The run in `out` is complete and self-consistent (besides the manifest, only the engine's
/// mark and the files the manifest lists); returns its top_k.
fn complete_run(out: &std::path::Path) -> u64 {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("a manifest")).unwrap();
    let listed: BTreeSet<String> = manifest["outputs"].as_object().unwrap().keys().cloned().collect();
    let present: BTreeSet<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n != "manifest.json" && n != ".sstc-match")
        .collect();
    assert_eq!(listed, present, "exactly the files the manifest lists");
    for (name, digest) in manifest["outputs"].as_object().unwrap() {
        let bytes = std::fs::read(out.join(name)).unwrap();
        let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&actual, digest.as_str().unwrap(), "{name} is the file the manifest describes");
    }
    manifest["config"]["top_k"].as_u64().unwrap()
}

#[test]
fn killed_at_any_moment_the_output_is_one_complete_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new();
    let out = dir.path("out");
    assert_eq!(code(&dir.run(&["generate", "--n", "3000", "--seed", "1", "--out", "p.csv"])), 0);
    let args = |k: &'static str| vec!["run", "--profiles", "p.csv", "--out", "out", "--model-dir", "m", "-q", "--top-k", k];
    let started = Instant::now();
    assert!(code(&dir.run(&args("5"))) <= 1);
    let typical = started.elapsed();
    assert_eq!(complete_run(&out), 5);

    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(20261123);
    let mut seen = BTreeSet::new();
    for round in 0..30 {
        // Both list lengths meet both kinds of kill, so either can be the last finished run.
        let k = if round % 4 < 2 { "10" } else { "5" };
        // Half the kills fall anywhere in a run (or after it, so that some runs finish even
        // when a loaded machine makes them slower than the first), half in its last fifth,
        // where publishing is.
        let fraction: f64 = if round % 2 == 0 { rng.gen_range(0.0..3.0) } else { rng.gen_range(0.8..1.05) };
        let mut child = start(&dir, &args(k));
        std::thread::sleep(typical.mul_f64(fraction));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let top_k = complete_run(&out);
        assert!(top_k == 5 || top_k == 10, "round {round}");
        seen.insert(top_k);
    }
    assert_eq!(seen.len(), 2, "some runs finished and some were cut short: both states were seen");
    // After all that, a run starts cleanly and nothing is left beside the directory.
    let last = dir.run(&args("7"));
    assert!(code(&last) <= 1, "{}", stderr(&last));
    assert_eq!(complete_run(&out), 7);
    assert!(!dir.path("out.staging").exists());
}

#[test]
fn killed_during_an_incremental_night_the_next_night_still_equals_a_full_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new();
    // Night two is night one and 60 partners more (generate's rows are a prefix of a larger N).
    for (n, file) in [("3000", "one.csv"), ("3060", "two.csv")] {
        assert_eq!(code(&dir.run(&["generate", "--n", n, "--seed", "3", "--out", file])), 0);
    }
    let night = |file: &'static str| vec!["run", "--profiles", file, "--out", "out", "-q", "--incremental"];
    let started = Instant::now();
    assert_eq!(code(&dir.run(&night("one.csv"))), 0);
    let typical = started.elapsed();
    let run_id = |out: &str| serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.path(out).join("manifest.json")).unwrap()).unwrap()["run_id"].clone();
    let first = run_id("out");
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(20261204);
    for round in 0..10 {
        let mut child = start(&dir, &night("two.csv"));
        std::thread::sleep(typical.mul_f64(rng.gen_range(0.0..1.2)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        complete_run(&dir.path("out"));
        if run_id("out") == first {
            // Last night is intact: its state is still the one it wrote (checked by sha256).
            assert!(dir.path("out/state-pools.parquet").exists(), "round {round}");
        }
    }
    // The full night runs over a copy of what the kills left (its clusters continue it).
    copy_run(&dir.path("out"), &dir.path("full"));
    assert_eq!(code(&dir.run(&night("two.csv"))), 0);
    assert_eq!(code(&dir.run(&["run", "--profiles", "two.csv", "--out", "full", "-q"])), 0);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["incremental"]["ranked"], "incremental", "the state the kills left was read");
    assert_eq!(run_id("out"), run_id("full"));
    for file in ["shortlist.parquet", "resources.parquet", "triads.parquet", "clusters.csv"] {
        assert!(std::fs::read(dir.path("out").join(file)).unwrap() == std::fs::read(dir.path("full").join(file)).unwrap(), "{file}");
    }
}

#[test]
fn a_second_job_is_refused_and_a_killed_jobs_lock_recovered() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Dir::new();
    assert_eq!(code(&dir.run(&["generate", "--n", "20000", "--seed", "2", "--out", "p.csv"])), 0);
    let run = ["run", "--profiles", "p.csv", "--out", "out", "--model-dir", "m", "-q", "--threads", "1"];
    let mut first = start(&dir, &run);
    // Wait until the first job holds the lock (its stamp is in the lock file).
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(dir.path("out.lock")).unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "the first job took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = dir.run(&run);
    assert_eq!(code(&second), 2);
    let message = stderr(&second);
    assert!(message.contains("another sstc-match run is writing out (pid "), "{message}");
    first.kill().unwrap();
    first.wait().unwrap();
    let third = dir.run(&["run", "--profiles", "p.csv", "--out", "out", "--model-dir", "m", "-q", "--top-k", "1"]);
    assert!(code(&third) <= 1, "{}", stderr(&third));
    assert!(stderr(&third).contains("recovered the lock of an interrupted run"), "{}", stderr(&third));
    complete_run(&dir.path("out"));
}

#[test]
fn an_output_directory_that_cannot_be_made_fails_before_any_work() {
    let dir = Dir::new();
    dir.write("file.txt", "not a directory");
    let started = Instant::now();
    let output = dir.run(&["run", "--out", "file.txt/out", "-q"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("cannot write file.txt"), "{}", stderr(&output));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(std::fs::read_to_string(dir.path("file.txt")).unwrap(), "not a directory");
}

#[test]
fn contacts_stay_out_of_logs_and_ids_out_of_paths() {
    let dir = Dir::new();
    let golden = std::fs::read_to_string(repo("tests/data/golden/profiles.csv")).unwrap();
    let hostile = golden
        .replace("dakar,City of Dakar", "../../escape,City of Dakar")
        .replace("thies-coop,", "/tmp/sstc-escape,");
    dir.write("p.csv", &hostile);
    for format in ["text", "json"] {
        let output = dir.run(&["run", "--profiles", "p.csv", "--out", "out", "--model-dir", "m", "-vv", "--log-format", format]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let logs = stderr(&output);
        assert!(logs.contains("sstc_match::pipeline"), "logs were written: {logs}");
        for contact in ["@example.org", "Awa Ndiaye", "Moussa Diop"] {
            assert!(!logs.contains(contact), "{contact} leaked into the logs");
        }
    }
    assert!(!std::path::Path::new("/tmp/sstc-escape").exists());
    assert!(!dir.root.path().parent().unwrap().join("escape").exists());
    let ids = util::Csv::read(&dir.path("out/shortlist.csv")).column("candidate_id");
    assert!(ids.iter().any(|i| i == "../../escape") && ids.iter().any(|i| i == "/tmp/sstc-escape"), "ids are data");
}
