//! Campaigns from a run: capacities are never exceeded, suppressed pairs are not proposed,
//! formulas cannot run in a spreadsheet, totals are reported. (The allocation's optimality
//! against brute force is a property test in `src/campaign/flow.rs`; so are the greedy
//! fallback's capacity, half-optimum guarantee and upper bound.)

mod util;

use std::collections::BTreeMap;

use util::{code, repo, stderr, Csv, Dir};

#[test]
fn a_campaign_respects_capacity_suppression_and_spreadsheets() {
    let dir = Dir::new();
    let golden = std::fs::read_to_string(repo("tests/data/golden/profiles.csv")).unwrap();
    // A hostile name, and capacity 1 for the cooperative everybody wants.
    let profiles = golden
        .replace("City of Dakar", "=HYPERLINK(\"http://evil\";\"Dakar\")")
        .replace(",0.9,0.7,0.8,0.8,0.9,0.6,0.7,0.9,2,long_term,Moussa", ",0.9,0.7,0.8,0.8,0.9,0.6,0.7,0.9,1,long_term,Moussa");
    dir.write("p.csv", &profiles);
    let run = dir.run(&["run", "--profiles", "p.csv", "--out", "run", "--model-dir", "m", "-q", "--top-k", "3"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    dir.write("contacted.csv", "source_id,target_id,date\nabidjan-union,dakar,2026-11-01\n");
    let output = dir.run(&[
        "campaign", "--run", "run", "--out", "camp", "--campaign-id", "c1",
        "--suppress", "contacted.csv", "--as-of", "2026-11-23",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let campaign = Csv::read(&dir.path("camp/campaign.csv"));
    let (mut received, mut proposed): (BTreeMap<String, u32>, BTreeMap<String, u32>) = Default::default();
    for r in 0..campaign.len() {
        *received.entry(campaign.get(r, "partner_id")).or_default() += 1;
        *proposed.entry(campaign.get(r, "candidate_id")).or_default() += 1;
        assert_eq!(campaign.get(r, "campaign_id"), "c1");
        assert!(campaign.get(r, "proposal_id").starts_with("c1:"));
        let pair = (campaign.get(r, "partner_id"), campaign.get(r, "candidate_id"));
        assert!(pair != ("abidjan-union".into(), "dakar".into()) && pair != ("dakar".into(), "abidjan-union".into()), "suppressed");
    }
    assert!(proposed.get("thies-coop").copied().unwrap_or(0) <= 1, "capacity 1 holds: {proposed:?}");
    assert!(received.get("thies-coop").copied().unwrap_or(0) <= 1, "capacity 1 holds: {received:?}");
    let names = campaign.column("partner_name");
    assert!(names.iter().any(|n| n.starts_with("=HYPERLINK")), "the name itself is kept: {names:?}");
    let raw = std::fs::read_to_string(dir.path("camp/campaign.csv")).unwrap();
    assert!(raw.contains("\"'=HYPERLINK(") && !raw.contains(",=") && !raw.contains("\"=HYPERLINK"), "formula neutralised in the file: {raw}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("camp/campaign.json")).unwrap()).unwrap();
    assert_eq!(summary["suppressed"], 2, "both directions of the contacted pair");
    assert!(summary["allocated_score"].as_f64() <= summary["unconstrained_score"].as_f64());
    assert_eq!(summary["proposals"].as_u64().unwrap() as usize, campaign.len());
}

#[test]
fn above_the_exact_limit_a_greedy_allocation_reports_a_gap_that_holds() {
    let dir = Dir::new();
    let profiles = util::generated(&dir, 400, 9);
    let run = dir.run(&["run", "--profiles", profiles.to_str().unwrap(), "--out", "run", "--model-dir", "m", "-q"]);
    assert!(code(&run) <= 1, "{}", stderr(&run));
    let summary = |out: &str, limit: &str| -> serde_json::Value {
        let output = dir.run(&["campaign", "--run", "run", "--out", out, "--exact-limit", limit]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        serde_json::from_slice(&std::fs::read(dir.path(&format!("{out}/campaign.json"))).unwrap()).unwrap()
    };
    let (exact, greedy) = (summary("exact", "1000000"), summary("greedy", "0"));
    assert_eq!((exact["allocation"].as_str(), greedy["allocation"].as_str()), (Some("exact"), Some("greedy")));
    let (best, got) = (exact["allocated_score"].as_f64().unwrap(), greedy["allocated_score"].as_f64().unwrap());
    assert!(got <= best + 1e-6 && 2.0 * got >= best, "greedy {got} against the optimum {best}");
    assert!(exact["capacity_cost"].as_f64().unwrap() > 0.0, "the capacities bind in this population");
    let claimed = greedy["optimality_gap_at_most"].as_f64().unwrap();
    assert!(claimed + 1e-6 >= 1.0 - got / best, "claimed gap {claimed} below the true gap {}", 1.0 - got / best);
}
