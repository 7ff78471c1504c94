//! Fair exposure: re-ranking with λ = 1 and no regional minimum is the plain ranking; a
//! regional minimum is met when the pool allows; MMR diversifies a list; the coverage and
//! Gini figures checked by hand on a tiny run.

mod util;

use sstc_match::config::{default_score_settings, weights::default_weights};
use sstc_match::engine::fairness::fairness;
use sstc_match::engine::features::{FeatureSettings, PartnerFeatures};
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::rank::rerank::{rerank, Rerank};
use sstc_match::engine::rank::{Candidates, Hit, Scan, Shortlist};
use sstc_match::engine::score::columns::Columns;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::rules::RuleSet;
use sstc_match::engine::score::Scorer;
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::Dir;

fn features(dir: &Dir, n: usize) -> PartnerFeatures {
    let path = dir.path("p.csv");
    assert_eq!(util::code(&dir.run(&["generate", "--n", &n.to_string(), "--seed", "3", "--out", path.to_str().unwrap()])), 0);
    let ingested = ingest(&TableSource::File(path), Reference::builtin()).unwrap();
    PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() })
}

/// Every partner's best 30 candidates with the default settings and rules.
fn pools(f: &PartnerFeatures) -> Vec<Shortlist> {
    let scorer = Scorer::new(f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let partners: Vec<PartnerIdx> = (0..f.len() as PartnerIdx).collect();
    let (columns, rules) = (Columns::in_index_order(&scorer), RuleSet::new(&Default::default(), &[], None, None));
    Scan::new(scorer, &rules, Candidates::Columns(&columns)).shortlists(&partners, 30, &|_| {}).0
}

#[test]
fn lambda_one_is_the_plain_ranking_and_lower_lambda_diversifies() {
    let dir = Dir::new();
    let f = features(&dir, 400);
    let pools = pools(&f);
    let plain = Rerank { lambda: 1.0, min_region_share: 0.0 };
    let diverse = Rerank { lambda: 0.3, min_region_share: 0.0 };
    let distinct = |l: &Shortlist| {
        let mut kinds: Vec<(u8, u16)> = l.hits.iter().map(|h| (f.actor[h.candidate as usize], f.sub_region[h.candidate as usize])).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.len()
    };
    let (mut before, mut after) = (0, 0);
    for pool in &pools {
        let top = pool.truncated(10);
        assert_eq!(rerank(&f, pool, 10, &plain).hits, top.hits, "λ = 1 keeps the plain order");
        let r = rerank(&f, pool, 10, &diverse);
        before += distinct(&top);
        after += distinct(&r);
    }
    assert!(after > before, "λ < 1 brings more kinds of candidate: {before} → {after}");
}

#[test]
fn the_regional_minimum_is_met_when_the_pool_allows() {
    let dir = Dir::new();
    let f = features(&dir, 400);
    let pools = pools(&f);
    let settings = Rerank { lambda: 1.0, min_region_share: 0.5 };
    for pool in &pools {
        let region = f.sub_region[pool.partner as usize];
        let local = |hits: &[Hit]| hits.iter().filter(|h| f.sub_region[h.candidate as usize] == region).count();
        let available = local(&pool.hits);
        let r = rerank(&f, pool, 10, &settings);
        assert_eq!(r.hits.len(), pool.hits.len().min(10));
        assert!(local(&r.hits) >= 5.min(available).min(r.hits.len()), "partner {}: {} local of {available}", pool.partner, local(&r.hits));
    }
}

#[test]
fn coverage_and_gini_checked_by_hand() {
    let dir = Dir::new();
    let f = features(&dir, 4);
    assert!(f.active.iter().all(|&a| a), "the four generated partners are active");
    // Partner 0's list is [1, 2], partner 1's is [2]: exposures 0, 1, 1 + 1/log2(3), 0.
    let lists = vec![
        Shortlist { partner: 0, hits: vec![Hit { candidate: 1, score: 0.5 }, Hit { candidate: 2, score: 0.3 }] },
        Shortlist { partner: 1, hits: vec![Hit { candidate: 2, score: 0.4 }] },
    ];
    let figures = fairness(&lists, &f, Reference::builtin());
    assert_eq!(figures.coverage, 0.5);
    assert_eq!(figures.mean_score, 0.4);
    // Sorted exposures 0, 0, 1, 1.63093: Gini = 2·(3·1 + 4·1.63093)/(4·2.63093) − 5/4.
    let e = 1.0 + 1.0 / 3f64.log2();
    let expected = 2.0 * (3.0 + 4.0 * e) / (4.0 * (1.0 + e)) - 1.25;
    assert!((figures.exposure_gini - (expected * 1e4).round() / 1e4).abs() < 1e-9, "{} vs {expected}", figures.exposure_gini);
    for grouping in [&figures.by_region, &figures.by_country, &figures.by_actor_type] {
        let shares: f64 = grouping.iter().map(|g| g.exposure_share).sum();
        assert!((shares - 1.0).abs() < 1e-3, "exposure shares add up: {shares}");
    }
    // Per country, by hand: partner 2 holds 1.63093 / 2.63093 of the exposure.
    let country = |i: usize| Reference::builtin().countries[f.country[i] as usize].iso3.clone();
    let expected: f64 = (0..4).filter(|&i| country(i) == country(2)).map(|i| [0.0, 1.0, e, 0.0][i]).sum::<f64>() / (1.0 + e);
    let got = figures.by_country.iter().find(|g| g.group == country(2)).unwrap();
    assert!((got.exposure_share - (expected * 1e4).round() / 1e4).abs() < 1e-9, "{} vs {expected}", got.exposure_share);
    assert_eq!(got.partner_share, (0..4).filter(|&i| country(i) == country(2)).count() as f64 / 4.0);
}
