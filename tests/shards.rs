//! Shards and merge: `run --shard I/N` on every shard, then `merge`, publishes the files a
//! single `run` publishes, byte for byte (exact mode; blocked mode with a probe limit and
//! re-ranking; any order of the shard directories, any thread count, a shard rerun alone);
//! the manifests differ only in where and when. `merge` refuses, naming the shard or file: a
//! missing one, one given twice, one of other settings, one whose file changed, and profiles
//! or settings files that changed since the shards ran. A shard never replaces a published
//! run, nor a run (or merge) a shard.

mod util;

use util::{assert_same_files, assert_same_run, code, generated, ok, stderr, Dir};

#[test]
fn merged_shards_equal_a_single_run_in_exact_mode() {
    let dir = Dir::new();
    // Tonight's changes since another night are merged like the rest.
    ok(&dir, &["run", "--out", "last", "--weight", "geography=0.4", "--quiet"]);
    ok(&dir, &["run", "--out", "single", "--previous", "last", "--quiet"]);
    for i in 0..3 {
        ok(&dir, &["run", "--out", &format!("s{i}"), "--shard", &format!("{i}/3"), "--threads", "1", "--previous", "last", "--quiet"]);
    }
    ok(&dir, &["merge", "s2", "s0", "s1", "--out", "merged", "--quiet"]);
    assert_same_run(&dir.path("single"), &dir.path("merged"));
    assert!(std::fs::metadata(dir.path("merged/changes.csv")).unwrap().len() > 200);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("merged/manifest.json")).unwrap()).unwrap();
    let shards: Vec<&str> = manifest["shards"].as_array().unwrap().iter().map(|s| s["shard"].as_str().unwrap()).collect();
    assert_eq!(shards, ["0/3", "1/3", "2/3"]);
    let partners: u64 = manifest["shards"].as_array().unwrap().iter().map(|s| s["partners"].as_u64().unwrap()).sum();
    assert_eq!(partners, manifest["counts"]["active_partners"].as_u64().unwrap());

    // The merged run is a run like any other: a campaign from it is the single run's, and
    // the report renders from it.
    for run in ["single", "merged"] {
        ok(&dir, &["campaign", "--run", run, "--out", &format!("campaign-{run}"), "--as-of", "2026-12-01", "--triads"]);
    }
    assert!(!assert_same_files(&dir.path("campaign-single"), &dir.path("campaign-merged"), &[]).is_empty());
    ok(&dir, &["report", "merged"]);
    assert!(dir.path("merged/report.html").exists());

    // A shard rerun without the night's --previous does not belong with the others: its
    // merge would compare the night with another run, or with none.
    ok(&dir, &["run", "--out", "s1", "--shard", "1/3", "--threads", "2", "--quiet"]);
    let refused = dir.run(&["merge", "s0", "s1", "s2", "--out", "merged-again", "--quiet"]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("its --previous (the run the night's changes compare with) differs (none against last)"), "{}", stderr(&refused));

    // A shard rerun alone (after a failure, say) leaves the merge as it was.
    ok(&dir, &["run", "--out", "s1", "--shard", "1/3", "--threads", "2", "--previous", "last", "--quiet"]);
    ok(&dir, &["merge", "s0", "s1", "s2", "--out", "merged-again", "--threads", "1", "--quiet"]);
    assert_same_run(&dir.path("single"), &dir.path("merged-again"));
}

#[test]
fn merged_shards_equal_a_single_run_in_blocked_mode_with_a_probe_limit_and_reranking() {
    // A low probe limit makes each partner's list depend on which leaf blocks it scans: they
    // come from its own bounds, whichever of its batch's members a shard computes.
    let dir = Dir::new();
    let profiles = generated(&dir, 3000, 7);
    let profiles = profiles.to_str().unwrap();
    let flags = ["--profiles", profiles, "--mode", "blocked", "--probe", "96", "--recall-sample", "200", "--diversity", "0.7", "--min-region-share", "0.2", "--quiet"];
    ok(&dir, &[&["run", "--out", "single"], &flags[..]].concat());
    for i in 0..4 {
        let (out, shard) = (format!("s{i}"), format!("{i}/4"));
        ok(&dir, &[&["run", "--out", &out, "--shard", &shard, "--threads", "1"], &flags[..]].concat());
    }
    ok(&dir, &["merge", "s3", "s1", "s0", "s2", "--out", "merged", "--threads", "2", "--quiet"]);
    assert_same_run(&dir.path("single"), &dir.path("merged"));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("merged/manifest.json")).unwrap()).unwrap();
    let recall = manifest["blocking"]["recall_at_k"].as_f64().unwrap();
    assert!(recall < 1.0, "the probe limit must bite for this test to mean anything (recall {recall})");
}

#[test]
fn merge_refuses_an_incomplete_or_mixed_set_naming_the_shard() {
    let dir = Dir::new();
    let profiles = generated(&dir, 400, 3);
    let profiles = profiles.to_str().unwrap();
    let exclusions = "source_id,target_id\nsyn-0000001,syn-0000002\n";
    dir.write("exclusions.csv", exclusions);
    let flags = ["--profiles", profiles, "--exclusions", "exclusions.csv", "--quiet"];
    for i in 0..3 {
        ok(&dir, &[&["run", "--out", &format!("s{i}"), "--shard", &format!("{i}/3")], &flags[..]].concat());
    }
    ok(&dir, &[&["run", "--out", "other", "--shard", "1/3", "--top-k", "5"], &flags[..]].concat());
    ok(&dir, &[&["run", "--out", "single"], &flags[..]].concat());
    let refused = |args: &[&str], expected: &[&str]| {
        let output = dir.run(&[&["merge"], args, &["--out", "merged", "--quiet"]].concat());
        let message = stderr(&output);
        assert_eq!(code(&output), 2, "merge {args:?} must fail: {message}");
        for words in expected {
            assert!(message.contains(words), "merge {args:?}: '{words}' not in: {message}");
        }
        assert!(!dir.path("merged").exists(), "merge {args:?} published a run");
    };
    refused(&["s0", "s2"], &["1/3 is missing"]);
    refused(&["s0", "s1", "s2", "s1"], &["shard 1/3 is given twice", "s1"]);
    refused(&["s0", "other", "s2"], &["other (shard 1/3)", "settings (run id) differs"]);
    refused(&["s0", "s1", "s2", "single"], &["single: not a finished shard"]);

    let pools = dir.path("s2/pools.parquet");
    let original = std::fs::read(&pools).unwrap();
    std::fs::write(&pools, [&original[..], b"x"].concat()).unwrap();
    refused(&["s0", "s1", "s2"], &["s2/pools.parquet: changed since the shard wrote it; rerun this shard"]);
    std::fs::write(&pools, &original).unwrap();

    // The profiles change between the shards and the merge: the lists no longer describe them.
    let text = std::fs::read_to_string(profiles).unwrap();
    let fewer: Vec<&str> = text.lines().take(300).collect();
    std::fs::write(profiles, fewer.join("\n") + "\n").unwrap();
    refused(&["s0", "s1", "s2"], &["the profiles changed since the shards ran"]);
    std::fs::write(profiles, text).unwrap();
    // So do the settings files (regression: merge read the exclusions as they were now and
    // published lists computed with the old ones under a new run id).
    dir.write("exclusions.csv", "source_id,target_id\n");
    refused(&["s0", "s1", "s2"], &["exclusions.csv (--exclusions) changed since the shards ran"]);
    dir.write("exclusions.csv", exclusions);
    ok(&dir, &["merge", "s0", "s1", "s2", "--out", "merged", "--quiet"]);
    assert_same_run(&dir.path("single"), &dir.path("merged"));
}

#[test]
fn a_shard_never_replaces_a_run_nor_a_run_or_merge_a_shard() {
    let dir = Dir::new();
    ok(&dir, &["run", "--out", "night", "--quiet"]);
    ok(&dir, &["run", "--out", "s0", "--shard", "0/2", "--quiet"]);
    ok(&dir, &["run", "--out", "s1", "--shard", "1/2", "--quiet"]);
    let night = std::fs::read(dir.path("night/shortlist.csv")).unwrap();
    let shard = std::fs::read(dir.path("s0/pools.parquet")).unwrap();
    for (args, expected) in [
        (&["run", "--out", "night", "--shard", "0/2"][..], "night holds a published run; a shard writes a directory of its own"),
        (&["run", "--out", "s0"][..], "s0 holds a shard of a sharded night"),
        (&["merge", "s0", "s1", "--out", "s0"][..], "s0 holds a shard of a sharded night"),
    ] {
        let output = dir.run(&[args, &["--quiet"]].concat());
        assert_eq!(code(&output), 2, "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
    }
    assert_eq!(std::fs::read(dir.path("night/shortlist.csv")).unwrap(), night);
    assert_eq!(std::fs::read(dir.path("s0/pools.parquet")).unwrap(), shard);
}
