//! Shortlists an officer can send (issue 17), on the shipped default data (2,017 profiles):
//! 1. a pair of one country is `domestic`, never an international modality;
//! 2. direction, the offer columns and the sentence come from one computation and agree;
//! 3. sentences fit for an email: no `;`, no vocabulary id, no "0 km", no "more" cut-off,
//!    problem themes written with their action phrases;
//! 4. likely duplicate records are listed in duplicates.csv and never proposed to each other;
//! 5. a donor's list proposes what it could support (issue 16): no donor row is `peers`
//!    where the donor funds a need of the candidate.

mod util;

use std::collections::HashMap;
use std::sync::OnceLock;

use sstc_match::engine::reference::Reference;
use util::{code, stderr, Csv, Dir};

/// Directions of a support proposal (a row of a donor's own list).
const PROPOSALS: [&str; 2] = ["partner_funds", "partner_facilitates"];

/// The shipped profiles by id.
fn profiles() -> HashMap<String, HashMap<String, String>> {
    let table = Csv::read(&util::repo("data/profiles/default.csv"));
    (0..table.len()).map(|r| (table.get(r, "id"), table.table.header().iter().map(|c| (c.clone(), table.get(r, c))).collect())).collect()
}

/// One run on the shipped data, shared by the tests here.
fn default_run() -> &'static (Dir, Csv) {
    static RUN: OnceLock<(Dir, Csv)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = Dir::new();
        let output = dir.run(&["run", "--out", "out", "--model-dir", "m", "-q"]);
        assert!(code(&output) <= 1, "{}", stderr(&output));
        let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
        (dir, shortlist)
    })
}

#[test]
fn a_pair_of_one_country_is_domestic_and_nothing_else() {
    let (_, rows) = default_run();
    let mut domestic = 0;
    for r in 0..rows.len() {
        let same_country = rows.get(r, "partner_country") == rows.get(r, "candidate_country");
        let modality = rows.get(r, "modality");
        if PROPOSALS.contains(&rows.get(r, "direction").as_str()) {
            // The exchange proposed is between the provider and the beneficiary (below).
            continue;
        }
        if same_country {
            assert!(
                ["domestic", "multi_stakeholder", "trade_union_sse"].contains(&modality.as_str()),
                "row {r}: a pair in {} is {modality}",
                rows.get(r, "partner_country")
            );
            assert_eq!(rows.get(r, "cross_border"), "false");
        } else {
            assert_ne!(modality, "domestic", "row {r}");
        }
        domestic += usize::from(modality == "domestic");
    }
    assert!(domestic > 100, "the default set has domestic pairs ({domestic})");
}

#[test]
fn direction_offer_columns_and_sentence_agree_on_every_row() {
    let (_, rows) = default_run();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in 0..rows.len() {
        let direction = rows.get(r, "direction");
        let (theirs, ours) = (!rows.get(r, "candidate_offers").is_empty(), !rows.get(r, "partner_offers").is_empty());
        let reason = rows.get(r, "reason");
        let (partner, candidate) = (rows.get(r, "partner_name"), rows.get(r, "candidate_name"));
        if PROPOSALS.contains(&direction.as_str()) {
            assert!(!theirs && !ours, "row {r}: a proposal lists no offer between the donor and the beneficiary");
            assert_eq!(rows.get(r, "beneficiary_id"), rows.get(r, "candidate_id"), "row {r}");
            assert!(!rows.get(r, "provider_id").is_empty(), "row {r}");
            let verb = if direction == "partner_funds" { "fund" } else { "help" };
            assert!(reason.contains(&format!("proposal: {partner}")) && reason.contains(&format!(" could {verb} {candidate}")) && reason.contains(" to learn from "), "row {r}: {reason}");
            *seen.entry(direction).or_default() += 1;
            continue;
        }
        let expected = match (ours, theirs) {
            (true, true) => "mutual",
            (true, false) => "partner_provides",
            (false, true) => "candidate_provides",
            (false, false) => "peers",
        };
        assert_eq!(direction, expected, "row {r}: the offer columns say {expected}");
        assert_eq!(reason.contains(&format!("{candidate} has experience in")), theirs, "row {r}: {reason}");
        assert_eq!(reason.contains(&format!("in which {partner} has experience")), ours, "row {r}: {reason}");
        if direction == "peers" {
            assert!(!reason.contains("experience") && !reason.contains("seeks support") && !reason.contains("offers"), "row {r}: {reason}");
            assert!(rows.get(r, "provider_id").is_empty() && rows.get(r, "beneficiary_id").is_empty(), "row {r}");
        }
        *seen.entry(direction).or_default() += 1;
    }
    assert_eq!(seen.len(), 5, "every direction occurs (no facilitator of the shipped set takes no other role): {seen:?}");
}

#[test]
fn sentences_are_fit_for_an_email() {
    let (_, rows) = default_run();
    let reference = Reference::builtin();
    let ids: Vec<&str> = reference.themes.ids().iter().chain(reference.sectors.ids()).map(String::as_str).filter(|id| id.contains('_')).collect();
    let (mut child_labour, mut forced_labour) = (0, 0);
    for r in 0..rows.len() {
        let reason = rows.get(r, "reason");
        assert!(!reason.contains(';'), "row {r}: {reason}");
        assert!(!reason.contains(" 0 km") && !reason.contains(" more") && !reason.contains("(en)"), "row {r}: {reason}");
        if let Some(id) = ids.iter().find(|id| reason.contains(*id)) {
            panic!("row {r}: the id {id} in: {reason}");
        }
        assert!(!reason.contains("offers child labour") && !reason.contains("on child labour,") && !reason.contains("in child labour"), "row {r}: {reason}");
        let without_names = reason.replace(&rows.get(r, "partner_name"), "P").replace(&rows.get(r, "candidate_name"), "C");
        assert!(reason.ends_with('.') && !without_names.contains(". "), "one sentence, row {r}: {reason}");
        child_labour += usize::from(reason.contains("eliminating child labour") || reason.contains("ending child labour"));
        forced_labour += usize::from(reason.contains("forced labour and trafficking"));
    }
    assert!(child_labour > 0 && forced_labour > 0, "problem themes are named with their phrases ({child_labour}, {forced_labour})");
}

#[test]
fn likely_duplicates_are_listed_and_never_proposed_to_each_other() {
    let (dir, rows) = default_run();
    let duplicates = Csv::read(&dir.path("out/duplicates.csv"));
    assert!(duplicates.len() >= 100, "the default set repeats names ({} links)", duplicates.len());
    let mut group: HashMap<String, String> = HashMap::new();
    for r in 0..duplicates.len() {
        assert_eq!(duplicates.get(r, "name_a").to_lowercase(), duplicates.get(r, "name_b").to_lowercase(), "row {r}: same name is the only evidence in this set");
        assert_eq!(duplicates.get(r, "evidence"), "same name and country");
        for side in ["id_a", "id_b"] {
            group.insert(duplicates.get(r, side), duplicates.get(r, "group"));
        }
    }
    for r in 0..rows.len() {
        let (a, b) = (group.get(&rows.get(r, "partner_id")), group.get(&rows.get(r, "candidate_id")));
        assert!(a.is_none() || a != b, "row {r}: {} and {} are one partner", rows.get(r, "partner_id"), rows.get(r, "candidate_id"));
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["duplicate_links"].as_u64().unwrap() as usize, duplicates.len());
    assert!(manifest["counts"]["pairs_removed_by_rule"]["not_duplicates"].as_u64().unwrap() > 0);
}

#[test]
fn a_donors_list_proposes_what_it_could_support() {
    let (_, rows) = default_run();
    let profiles = profiles();
    let themes = |id: &str, column: &str| -> Vec<String> { profiles[id][column].split(';').filter(|t| !t.is_empty()).map(String::from).collect() };
    // The shipped set declares no `funds`: a funder backs what it offers.
    assert!(!profiles.values().any(|p| p.contains_key("funds")));
    let backs = |id: &str| themes(id, "offers");
    let (mut donor_rows, mut proposals) = (0, 0);
    for r in 0..rows.len() {
        let (donor, candidate) = (rows.get(r, "partner_id"), rows.get(r, "candidate_id"));
        let terms: f64 = rows.table.header().iter().filter(|c| c.starts_with("term_")).map(|c| rows.get(r, c).parse::<f64>().unwrap()).sum();
        assert!((terms - rows.get(r, "score").parse::<f64>().unwrap()).abs() < 1e-5, "row {r}: the score is the sum of its terms");
        if profiles[&donor]["actor_type"] != "donor" {
            continue;
        }
        donor_rows += 1;
        let funded_need = backs(&donor).iter().any(|t| themes(&candidate, "needs").contains(t));
        assert!(!funded_need || rows.get(r, "direction") != "peers", "row {r}: {donor} funds a need of {candidate}, not a peer");
        if rows.get(r, "direction") == "partner_funds" {
            proposals += 1;
            let provider = rows.get(r, "provider_id");
            let backed: Vec<String> = backs(&donor).into_iter().filter(|t| themes(&candidate, "needs").contains(t) && themes(&provider, "offers").contains(t)).collect();
            assert!(!backed.is_empty(), "row {r}: the donor backs a need of {candidate} that {provider} offers");
            assert_ne!(profiles[&provider]["country_iso3"], profiles[&candidate]["country_iso3"], "row {r}: an exchange between two countries");
            assert!(["triangular", "south_south"].contains(&rows.get(r, "modality").as_str()), "row {r}");
        }
    }
    assert!(donor_rows >= 800 && proposals >= 700, "{proposals} proposals among {donor_rows} donor rows");
}
