//! Campaigns from a run: capacities are never exceeded, suppressed pairs are not proposed,
//! formulas cannot run in a spreadsheet, totals are reported. (The allocation's optimality
//! against brute force is a property test in `src/campaign/flow.rs`.)

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
    assert!(names.iter().any(|n| n.starts_with("'=HYPERLINK")), "formula neutralised: {names:?}");
    assert!(!names.iter().any(|n| n.starts_with('=')));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("camp/campaign.json")).unwrap()).unwrap();
    assert_eq!(summary["suppressed"], 2, "both directions of the contacted pair");
    assert!(summary["allocated_score"].as_f64() <= summary["unconstrained_score"].as_f64());
    assert_eq!(summary["proposals"].as_u64().unwrap() as usize, campaign.len());
}
