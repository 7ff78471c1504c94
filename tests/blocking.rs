//! Blocked mode against exact mode: without a probe limit the block tree's bound proves the
//! lists exact, so blocked mode writes exactly the exact mode's lists (and measures recall 1
//! on its sample) while scoring fewer pairs, with or without oversized blocks cut; with a
//! small probe (in candidates) it scores fewer pairs still and loses some candidates, the
//! same ones on one thread or two.

mod util;

use util::{code, stderr, Dir};

/// Every shortlist row as (partner, rank, candidate, score, reason): what the modes must agree
/// on (the run id legitimately differs with the configuration).
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
fn blocked_mode_without_a_probe_limit_equals_exact_mode() {
    let dir = Dir::new();
    assert_eq!(code(&dir.run(&["generate", "--n", "1500", "--seed", "12", "--out", "p.csv"])), 0);
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "--profiles", "p.csv", "--out", out, "--model-dir", "m", "-q"];
        args.extend_from_slice(extra);
        let output = dir.run(&args);
        assert!(code(&output) <= 1, "{}", stderr(&output));
    };
    run("exact", &[]);
    run("all", &["--mode", "blocked", "--probe", "0"]);
    run("cut", &["--mode", "blocked", "--probe", "0", "--max-block", "8"]);
    run("few", &["--mode", "blocked", "--probe", "64"]);
    run("few-1-thread", &["--mode", "blocked", "--probe", "64", "--threads", "1"]);
    assert_eq!(lists(&dir, "all"), lists(&dir, "exact"));
    assert_eq!(lists(&dir, "cut"), lists(&dir, "exact"));
    let pairs = |out: &str| manifest(&dir, out)["counts"]["pairs_scored"].as_u64().unwrap();
    let exact = pairs("exact");
    for out in ["all", "cut"] {
        let m = manifest(&dir, out);
        assert_eq!(m["blocking"]["recall_at_k"], 1.0, "{out}");
        assert!(m["blocking"]["probe"].is_null(), "{out}");
        assert!(pairs(out) < exact * 3 / 4, "{out}: the bound prunes: {} of {exact} pairs", pairs(out));
    }
    assert!(pairs("few") < pairs("all"));
    assert_eq!(lists(&dir, "few-1-thread"), lists(&dir, "few"), "batches are planned alone: any thread count gives the same lists");
    let cut = manifest(&dir, "cut");
    assert!(cut["blocking"]["split"].as_u64().unwrap() > 0, "oversized blocks were cut");
    let largest = cut["blocking"]["largest"][0]["members"].as_u64().unwrap();
    assert!(largest <= 8, "no block above --max-block: {largest}");
    let recall = manifest(&dir, "few")["blocking"]["recall_at_k"].as_f64().unwrap();
    // The probe counts candidates: a partner scans its leaf blocks of the best bounds until
    // they hold 64 (when the probe counted leaf blocks of up to 32, 64 of them kept 0.996 of
    // the exact lists here).
    assert!((0.0..0.9).contains(&recall), "64 candidates per partner lose many: {recall}");
}
