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

/// `campaign --triads` on the shipped set: the run's triads are proposed first, each taking
/// one unit of each member's capacity, and the pairs get what is left; a triad left out had
/// a member with no room among the better triads; contacts come along.
#[test]
fn triads_are_allocated_first_within_every_members_capacity() {
    let dir = Dir::new();
    let run = dir.run(&["run", "--out", "run", "--model-dir", "m", "-q"]);
    assert_eq!(code(&run), 0, "{}", stderr(&run));
    let output = dir.run(&["campaign", "--run", "run", "--out", "camp", "--campaign-id", "c2", "--triads"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let profiles = Csv::read(&repo("data/profiles/default.csv"));
    let capacity: BTreeMap<String, usize> = (0..profiles.len()).filter(|&r| !profiles.get(r, "capacity").is_empty()).map(|r| (profiles.get(r, "id"), profiles.get(r, "capacity").parse().unwrap())).collect();
    let (all, chosen, pairs) = (Csv::read(&dir.path("run/triads.csv")), Csv::read(&dir.path("camp/campaign_triads.csv")), Csv::read(&dir.path("camp/campaign.csv")));
    assert!(chosen.len() > 50 && chosen.len() < all.len(), "{} of {} triads", chosen.len(), all.len());
    let members = |t: &Csv, r: usize| ["beneficiary_id", "provider_id", "third_id"].map(|c| t.get(r, c));
    let mut in_triads: BTreeMap<String, usize> = BTreeMap::new();
    for r in 0..chosen.len() {
        let [b, p, t] = members(&chosen, r);
        assert_eq!(chosen.get(r, "proposal_id"), format!("c2:{b}:{p}:{t}"));
        assert!(chosen.get(r, "beneficiary_contact_email").contains('@') && chosen.get(r, "third_contact_email").contains('@'), "row {r}");
        assert!((0..all.len()).any(|a| members(&all, a) == [b.clone(), p.clone(), t.clone()]), "a triad of the run");
        for id in [b, p, t] {
            *in_triads.entry(id).or_default() += 1;
        }
    }
    let (mut received, mut proposed): (BTreeMap<String, usize>, BTreeMap<String, usize>) = Default::default();
    for r in 0..pairs.len() {
        *received.entry(pairs.get(r, "partner_id")).or_default() += 1;
        *proposed.entry(pairs.get(r, "candidate_id")).or_default() += 1;
    }
    for (id, &room) in &capacity {
        let triads = in_triads.get(id).copied().unwrap_or(0);
        let pairs = received.get(id).copied().unwrap_or(0).max(proposed.get(id).copied().unwrap_or(0));
        assert!(triads + pairs <= room, "{id}: {triads} triads and {pairs} pairs for a capacity of {room}");
    }
    // Greedy by score: a triad left out had a member whose room the better chosen triads took.
    let score = |t: &Csv, r: usize, column: &str| t.get(r, column).parse::<f64>().unwrap();
    for a in (0..all.len()).filter(|&a| !(0..chosen.len()).any(|c| members(&chosen, c) == members(&all, a))) {
        let full = members(&all, a).iter().any(|id| {
            let before = (0..chosen.len()).filter(|&c| score(&chosen, c, "score") >= score(&all, a, "triad_score") && members(&chosen, c).contains(id)).count();
            capacity.get(id).is_some_and(|&room| before >= room)
        });
        assert!(full, "left out with room: {:?}", members(&all, a));
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("camp/campaign.json")).unwrap()).unwrap();
    assert_eq!(summary["triads"]["proposals"].as_u64().unwrap() as usize, chosen.len());
    assert_eq!(summary["triads"]["candidates"].as_u64().unwrap() as usize, all.len());

    // Without --triads the campaign has no triads; a run without triads cannot give any.
    assert_eq!(code(&dir.run(&["campaign", "--run", "run", "--out", "plain"])), 0);
    assert!(!dir.path("plain/campaign_triads.csv").exists());
    assert_eq!(code(&dir.run(&["run", "--out", "none", "--model-dir", "m", "-q", "--no-triads"])), 0);
    let refused = dir.run(&["campaign", "--run", "none", "--out", "c3", "--triads"]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("none: the run wrote no triads"), "{}", stderr(&refused));
}
