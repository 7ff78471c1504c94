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
    refused(&dir.run(&["evaluate", "--known", &known, "--profiles", &e, "--k", "0"]), "--k 0: must be at least 1");
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
