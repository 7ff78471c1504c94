//! Triads: they satisfy the triangular definition in force; on a hand-made instance the
//! known best triad is found; on a generated instance the beam (wide enough) equals an
//! exhaustive search over every provider and third partner.

mod util;

use sstc_match::config::{default_score_settings, weights::default_weights};
use sstc_match::engine::features::{FeatureSettings, PartnerFeatures};
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::modality::TriangularDefinition;
use sstc_match::engine::profile::Profile;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::rules::RuleSet;
use sstc_match::engine::score::Scorer;
use sstc_match::io::table::TableSource;
use sstc_match::engine::triads::{Triad, TriadSearch};
use sstc_match::PartnerIdx;
use util::Dir;

fn load(dir: &Dir, csv: &str) -> (Vec<Profile>, PartnerFeatures) {
    let path = dir.write("p.csv", csv);
    let ingested = ingest(&TableSource::File(path), Reference::builtin()).unwrap();
    assert!(ingested.rejects.is_empty(), "{:?}", ingested.rejects);
    let features = PartnerFeatures::build(&ingested.profiles, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() });
    (ingested.profiles, features)
}

fn ids(profiles: &[Profile], t: &Triad) -> (String, String, String) {
    let id = |i: PartnerIdx| profiles[i as usize].id.clone();
    (id(t.beneficiary), id(t.provider), id(t.third))
}

#[test]
fn the_known_best_triad_is_found_under_each_definition() {
    let dir = Dir::new();
    let (profiles, f) = load(
        &dir,
        "id,name,actor_type,country_iso3,offers,needs,roles
b,Beneficiary ministry,national_government,KEN,,social_protection;osh,beneficiary
p1,Strong provider,national_government,UGA,social_protection;osh,,provider
p2,Weak provider,cso_ngo,BRA,osh,,provider
f1,Northern donor,donor,FRA,social_protection,,funder
f2,UN agency,un_agency,CHE,social_protection,,provider;facilitator
f3,Northern ministry,national_government,DEU,social_protection,,provider
",
    );
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let search = |definition| TriadSearch { scorer, rules: &rules, definition, beam: 5, per_beneficiary: 3 };
    let b = profiles.iter().position(|p| p.id == "b").unwrap() as PartnerIdx;
    let best = |definition| ids(&profiles, &search(definition).for_beneficiary(b)[0]);
    assert_eq!(best(TriangularDefinition::A), ("b".into(), "p1".into(), "f1".into()), "A: the northern funder");
    assert_eq!(best(TriangularDefinition::C), ("b".into(), "p1".into(), "f2".into()), "C: the multilateral");
    for definition in [TriangularDefinition::A, TriangularDefinition::B, TriangularDefinition::C] {
        let s = search(definition);
        for t in s.for_beneficiary(b) {
            assert!(s.valid(t.beneficiary, t.provider, t.third), "{:?} {definition:?}", ids(&profiles, &t));
            assert!(ids(&profiles, &t).2 != "f3", "a northern ministry without the funder role supports under no definition");
        }
    }
    // Providers and thirds are not beneficiaries: no triads for them.
    let p1 = profiles.iter().position(|p| p.id == "p1").unwrap() as PartnerIdx;
    assert!(search(TriangularDefinition::A).for_beneficiary(p1).is_empty());
}

#[test]
fn a_wide_beam_equals_exhaustive_search() {
    let dir = Dir::new();
    let path = dir.path("g.csv");
    assert_eq!(util::code(&dir.run(&["generate", "--n", "120", "--seed", "21", "--out", path.to_str().unwrap()])), 0);
    let (profiles, f) = load(&dir, &std::fs::read_to_string(&path).unwrap());
    let scorer = Scorer::new(&f, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let search = TriadSearch {
        scorer,
        rules: &rules,
        definition: TriangularDefinition::B,
        beam: profiles.len(),
        per_beneficiary: 1,
    };
    let n = profiles.len() as PartnerIdx;
    let mut found = 0;
    for b in 0..n {
        let mut exhaustive: Option<Triad> = None;
        for p in 0..n {
            for t in 0..n {
                if f.can_benefit[b as usize] && !f.needs[b as usize].is_empty() && f.active[b as usize] && f.active[p as usize] && f.active[t as usize] && search.valid(b, p, t) {
                    let triad = search.triad(b, p, t);
                    let better = exhaustive.as_ref().is_none_or(|e| {
                        triad.score > e.score || (triad.score == e.score && (triad.provider, triad.third) < (e.provider, e.third))
                    });
                    if better {
                        exhaustive = Some(triad);
                    }
                }
            }
        }
        let beam = search.for_beneficiary(b);
        assert_eq!(beam.first(), exhaustive.as_ref(), "beneficiary {}", profiles[b as usize].id);
        found += beam.len();
    }
    assert!(found > 10, "the instance has triads: {found}");
}
