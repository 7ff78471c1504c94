//! Triads: on a hand-made instance the known best triad is found under each definition, and a
//! funder backing none of the needs met is never the third; on generated instances the search
//! equals an exhaustive one over the shortlist's providers and every supporter, and with
//! limits per third no third is over its limit and every triad left out had no room.

mod util;

use sstc_match::config::{default_score_settings, weights::default_weights};
use sstc_match::engine::features::{FeatureSettings, PartnerFeatures};
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::modality::{south_south, TriangularDefinition};
use sstc_match::engine::profile::Profile;
use sstc_match::engine::rank::top_k::{ranking_order, Hit};
use sstc_match::engine::rank::Shortlist;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::rules::RuleSet;
use sstc_match::engine::score::{need_coverage, Scorer};
use sstc_match::engine::support::Supporters;
use sstc_match::engine::triads::{Triad, TriadSearch};
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::{generated, Dir};

fn load(path: std::path::PathBuf) -> (Vec<Profile>, PartnerFeatures) {
    let ingested = ingest(&TableSource::File(path), Reference::builtin()).unwrap();
    assert!(ingested.rejects.is_empty(), "{:?}", ingested.rejects);
    let features = PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() });
    (ingested.profiles, features)
}

/// A generated population whose profiles declare no capacity: every third's limit is the
/// search's `max_per_third`.
fn without_capacities(dir: &Dir, n: usize, seed: u64) -> (Vec<Profile>, PartnerFeatures) {
    let (mut profiles, features) = load(generated(dir, n, seed));
    for p in &mut profiles {
        p.capacity = None;
    }
    (profiles, features)
}

fn ids(profiles: &[Profile], t: &Triad) -> (String, String, String) {
    let id = |i: PartnerIdx| profiles[i as usize].id.clone();
    (id(t.beneficiary), id(t.provider), id(t.third))
}

/// Every partner's list: every other partner, by pair score (what a run with an unbounded
/// top-k would list).
fn full_lists(scorer: &Scorer, n: usize) -> Vec<Shortlist> {
    (0..n as PartnerIdx)
        .map(|b| {
            let mut hits: Vec<Hit> = (0..n as PartnerIdx).filter(|&c| c != b).map(|c| Hit { candidate: c, score: scorer.score(b, c) }).collect();
            hits.sort_by(ranking_order);
            Shortlist { partner: b, hits }
        })
        .collect()
}

/// Best first, as the search orders a beneficiary's triads.
fn best_first(x: &Triad, y: &Triad) -> std::cmp::Ordering {
    y.score.total_cmp(&x.score).then_with(|| (x.provider, x.third).cmp(&(y.provider, y.third)))
}

#[test]
fn the_known_best_triad_is_found_under_each_definition() {
    let dir = Dir::new();
    let path = dir.write(
        "p.csv",
        "id,name,actor_type,country_iso3,offers,needs,funds,roles,capacity
b,Beneficiary ministry,national_government,KEN,,social_protection;osh,,beneficiary,
b2,Second beneficiary,national_government,TZA,,social_protection,,beneficiary,
p1,Strong provider,national_government,UGA,social_protection;osh,,,provider,
p2,Weak provider,cso_ngo,BRA,osh,,,provider,
f1,Northern donor,donor,FRA,,,social_protection,funder,1
f2,UN agency,un_agency,CHE,social_protection,,,provider;facilitator,
f3,Northern ministry,national_government,DEU,social_protection,,,provider,
f4,Green fund,donor,DEU,,,just_transition,funder,
",
    );
    let (profiles, f) = load(path);
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let supporters = Supporters::new(&profiles, &f);
    let search = |definition| TriadSearch { scorer, supporters: &supporters, rules: &rules, definition, beam: 5, thirds: 10, per_beneficiary: 3, max_per_third: 20 };
    let lists = full_lists(&scorer, profiles.len());
    let at = |id: &str| profiles.iter().position(|p| p.id == id).unwrap() as PartnerIdx;
    let of_b = |definition| -> Vec<Triad> { search(definition).all(&lists).into_iter().filter(|t| t.beneficiary == at("b")).collect() };
    assert_eq!(ids(&profiles, &of_b(TriangularDefinition::C)[0]), ("b".into(), "p1".into(), "f2".into()), "C: the multilateral");
    for definition in [TriangularDefinition::A, TriangularDefinition::B, TriangularDefinition::C] {
        let s = search(definition);
        let all = s.all(&lists);
        assert!(!all.is_empty(), "{definition:?}");
        for t in &all {
            assert_eq!(s.triad(t.beneficiary, t.provider, t.third).as_ref(), Some(t), "{:?} {definition:?}", ids(&profiles, t));
            let third = ids(&profiles, t).2;
            assert!(third != "f3", "a northern ministry without the funder role supports under no definition");
            assert!(third != "f4", "a fund backing no need the provider meets is not a third");
            assert_eq!(t.score, 0.5 * t.pair_score + 0.5 * t.support_score);
        }
        // Only the beneficiaries get triads: providers and thirds are not beneficiaries.
        assert!(all.iter().all(|t| t.beneficiary == at("b") || t.beneficiary == at("b2")), "{definition:?}");
        // The northern donor declares room for one partnership: it is in one triad.
        assert!(all.iter().filter(|t| t.third == at("f1")).count() <= 1, "{definition:?}");
    }
    // A admits only the northern donor, and its one slot goes to the better triad: the
    // beneficiary whose one need it funds whole.
    let under_a: Vec<_> = search(TriangularDefinition::A).all(&lists).iter().map(|t| ids(&profiles, t)).collect();
    assert_eq!(under_a, vec![("b2".into(), "p1".into(), "f1".into())], "A: the northern funder, once");
}

#[test]
fn triads_equal_an_exhaustive_search_without_limits() {
    let dir = Dir::new();
    let (profiles, f) = without_capacities(&dir, 150, 21);
    let n = profiles.len();
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let supporters = Supporters::new(&profiles, &f);
    let lists = full_lists(&scorer, n);
    let per_beneficiary = 3;
    let search = TriadSearch { scorer, supporters: &supporters, rules: &rules, definition: TriangularDefinition::B, beam: n, thirds: n, per_beneficiary, max_per_third: usize::MAX };
    let found = search.all(&lists);
    let mut expected = Vec::new();
    for b in 0..n as PartnerIdx {
        let mut all: Vec<Triad> = (0..n as PartnerIdx).flat_map(|p| (0..n as PartnerIdx).map(move |t| (p, t))).filter_map(|(p, t)| search.triad(b, p, t)).collect();
        all.sort_by(best_first);
        all.truncate(per_beneficiary);
        expected.extend(all);
    }
    assert!(expected.len() > 20, "the instance has triads: {}", expected.len());
    assert!(found == expected, "{} found, {} expected; first difference at {:?}", found.len(), expected.len(), found.iter().zip(&expected).position(|(x, y)| x != y));
}

#[test]
fn no_third_exceeds_its_limit_and_every_triad_left_out_had_no_room() {
    let dir = Dir::new();
    let (profiles, f) = without_capacities(&dir, 1500, 5);
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let supporters = Supporters::new(&profiles, &f);
    let lists: Vec<Shortlist> = full_lists(&scorer, profiles.len()).into_iter().map(|l| l.truncated(10)).collect();
    let search = |max_per_third| TriadSearch { scorer, supporters: &supporters, rules: &rules, definition: TriangularDefinition::B, beam: 5, thirds: 10, per_beneficiary: 3, max_per_third };
    let max_per_third = 2;
    let granted = search(max_per_third).all(&lists);
    let unlimited = search(usize::MAX).all(&lists);
    let count = |of: &dyn Fn(&Triad) -> bool| granted.iter().filter(|t| of(t)).count();
    assert!(granted.len() > 50 && granted.len() < unlimited.len(), "{} granted of {}", granted.len(), unlimited.len());
    for t in &granted {
        assert!(count(&|g| g.third == t.third) <= max_per_third, "{:?}", ids(&profiles, t));
    }
    for t in unlimited.iter().filter(|t| !granted.contains(t)) {
        let third_full = count(&|g| g.third == t.third && best_first(g, t).is_le()) >= max_per_third;
        let beneficiary_full = count(&|g| g.beneficiary == t.beneficiary && best_first(g, t).is_le()) >= 3;
        assert!(third_full || beneficiary_full, "left out with room: {:?}", ids(&profiles, t));
    }
}

/// The first `beam` candidates of `list` that provide a need of its partner from another
/// southern country: the exchanges a triad or a proposal may back.
fn providers(search: &TriadSearch, list: &Shortlist, beam: usize) -> Vec<PartnerIdx> {
    let f = search.scorer.features();
    let b = list.partner as usize;
    list.hits.iter().map(|h| h.candidate).filter(|&p| south_south(f, p as usize, b) && need_coverage(f, p as usize, b) > 0.0).take(beam).collect()
}

#[test]
fn support_proposals_equal_an_exhaustive_search() {
    let dir = Dir::new();
    let (profiles, f) = without_capacities(&dir, 400, 8);
    let n = profiles.len();
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let supporters = Supporters::new(&profiles, &f);
    let proposers = supporters.supporting_only();
    assert!(proposers.len() > 5, "the instance has donors: {}", proposers.len());
    let full = full_lists(&scorer, n);
    let short: Vec<Shortlist> = full.iter().map(|l| l.truncated(10)).collect();
    for (lists, beam, k) in [(&full, n, 3), (&short, 5, 10), (&short, 5, 1)] {
        // The definition does not decide who proposes: C admits no donor.
        let search = TriadSearch { scorer, supporters: &supporters, rules: &rules, definition: TriangularDefinition::C, beam, thirds: 10, per_beneficiary: 3, max_per_third: 1 };
        let found = search.proposals(lists, &proposers, k);
        let mut proposed = 0;
        for (&third, found) in proposers.iter().zip(&found) {
            let mut expected: Vec<Triad> = lists
                .iter()
                .filter_map(|list| providers(&search, list, beam).into_iter().filter_map(|p| search.proposal(list.partner, p, third)).min_by(best_first))
                .collect();
            expected.sort_by(best_first);
            expected.truncate(k);
            assert!(*found == expected, "third {}, k {k}: found {:?}, expected {:?}", profiles[third as usize].id, found.iter().map(|t| ids(&profiles, t)).collect::<Vec<_>>(), expected.iter().map(|t| ids(&profiles, t)).collect::<Vec<_>>());
            for t in found {
                assert_eq!(t.third, third);
                assert_eq!(search.triad(t.beneficiary, t.provider, t.third), None, "definition C admits no donor");
            }
            proposed += found.len();
        }
        assert!(proposed >= proposers.len() * k / 2, "most donors have proposals: {proposed} for {} at k {k}", proposers.len());
    }
}
