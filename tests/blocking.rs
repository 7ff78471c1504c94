//! Blocked mode against exact mode: with one cluster, or a probe of every cluster, blocked
//! mode writes exactly the exact mode's lists (and measures recall 1 on its sample); with
//! fewer probes it scores fewer pairs and its lists are a subset of the exact candidates.

mod util;

use util::{code, stderr, Dir};

/// Every shortlist row as (partner, rank, candidate, score, reason): what the modes must agree
/// on (the run id and cluster ids legitimately differ with the configuration).
fn lists(dir: &Dir, out: &str) -> Vec<[String; 5]> {
    let csv = util::Csv::read(&dir.path(out).join("shortlist.csv"));
    (0..csv.len())
        .map(|r| ["partner_id", "rank", "candidate_id", "score", "reason"].map(|c| csv.get(r, c)))
        .collect()
}

fn manifest(dir: &Dir, out: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.path(out).join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn blocked_mode_with_every_cluster_probed_equals_exact_mode() {
    let dir = Dir::new();
    assert_eq!(code(&dir.run(&["generate", "--n", "600", "--seed", "12", "--out", "p.csv"])), 0);
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "--profiles", "p.csv", "--out", out, "--model-dir", "m", "-q"];
        args.extend_from_slice(extra);
        let output = dir.run(&args);
        assert!(code(&output) <= 1, "{}", stderr(&output));
    };
    run("exact", &["--clusters", "6"]);
    run("one", &["--mode", "blocked", "--clusters", "1"]);
    run("all", &["--mode", "blocked", "--clusters", "6", "--probe", "6"]);
    run("few", &["--mode", "blocked", "--clusters", "6", "--probe", "2", "--max-block", "80"]);
    assert_eq!(lists(&dir, "one"), lists(&dir, "exact"));
    assert_eq!(lists(&dir, "all"), lists(&dir, "exact"));
    for out in ["one", "all"] {
        assert_eq!(manifest(&dir, out)["blocking"]["recall_at_k"], 1.0, "{out}");
    }
    let (exact, few) = (manifest(&dir, "exact"), manifest(&dir, "few"));
    assert!(few["counts"]["pairs_scored"].as_u64() < exact["counts"]["pairs_scored"].as_u64());
    assert!(few["blocking"]["split"].as_u64().unwrap() > 0, "oversized clusters were split");
    let largest = few["blocking"]["largest"][0][1].as_u64().unwrap();
    assert!(largest <= 80, "no block above --max-block: {largest}");
    let recall = few["blocking"]["recall_at_k"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&recall), "fewer probes lose some candidates: {recall}");
}
