//! Matching semantics on fixtures whose answer is known by construction:
//! 1. the only provider of a rare needed theme ranks first for the partner who needs it;
//! 2. a two-way match outranks an equally strong one-way match;
//! 3. each rule removes exactly the pairs it should and nothing else;
//! 4. each modality is classified right on hand-made pairs, corner cases included;
//! 5. unknown values are neutral, opposite values are not;
//! 6. rarity weights on a tiny population, checked by hand.

mod util;

use sstc_match::config::weights::default_weights;
use sstc_match::engine::features::{theme_weights, FeatureSettings, PartnerFeatures};
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::modality::{classify, Modality, TriangularDefinition};
use sstc_match::engine::profile::Profile;
use sstc_match::engine::rank::{Candidates, Scan};
use sstc_match::engine::score::columns::Columns;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::rules::{Exclusions, ModalityFilter, OptionalRule, RuleSet};
use sstc_match::io::pairs::{Day, PairWindow};
use sstc_match::engine::score::{Scorer, Term};
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::Dir;

const HEADER: &str = "id,name,actor_type,country_iso3,entity_kind,city,population,offers,needs,roles,v_solidarity,v_non_conditionality,v_horizontality,v_mutual_benefit,v_demand_driven,v_social_dialogue,v_labour_rights,v_local_ownership";

struct World {
    profiles: Vec<Profile>,
    features: PartnerFeatures,
}

impl World {
    fn new(rows: &[&str], settings: FeatureSettings) -> World {
        let dir = Dir::new();
        let path = dir.write("p.csv", &format!("{HEADER}\n{}\n", rows.join("\n")));
        let ingested = ingest(&TableSource::File(path), Reference::builtin()).unwrap();
        assert!(ingested.rejects.is_empty(), "{:?}", ingested.rejects);
        let features = PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, Reference::builtin(), &settings);
        World {
            profiles: ingested.profiles,
            features,
        }
    }

    fn full(rows: &[&str]) -> World {
        World::new(rows, FeatureSettings { rarity: 1.0, ..FeatureSettings::default() })
    }

    fn idx(&self, id: &str) -> PartnerIdx {
        self.profiles.iter().position(|p| p.id == id).unwrap_or_else(|| panic!("{id}")) as PartnerIdx
    }

    fn scorer(&self) -> Scorer<'_> {
        Scorer::new(
            &self.features,
            &Reference::builtin().actor_compatibility,
            sstc_match::config::default_score_settings(default_weights()),
        )
    }

    /// Candidate ids of `partner`'s top-k under `rules`.
    fn ranked(&self, partner: &str, rules: &RuleSet, k: usize) -> Vec<String> {
        let columns = Columns::in_index_order(&self.scorer());
        let (lists, _) = Scan::new(self.scorer(), rules, Candidates::Columns(&columns)).shortlists(&[self.idx(partner)], k, &|_| {});
        lists[0].hits.iter().map(|h| self.profiles[h.candidate as usize].id.clone()).collect()
    }

    /// The (partner, candidate) id pairs a single rule refuses, over all ordered pairs.
    fn refused_by(&self, rules: &RuleSet, rule: &str) -> Vec<(String, String)> {
        let n = self.profiles.len() as PartnerIdx;
        let mut out = Vec::new();
        for a in 0..n {
            for b in 0..n {
                if rules.verdicts(&self.features, a, b).iter().any(|(name, ok)| *name == rule && !ok) {
                    out.push((self.profiles[a as usize].id.clone(), self.profiles[b as usize].id.clone()));
                }
            }
        }
        out
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn the_only_provider_of_a_rare_needed_theme_ranks_first() {
    // "needy" needs a rare theme (hiv_aids) and a common one (social_protection). Five
    // providers offer the common theme, one ("z-rare", last by id so ties cannot favour it)
    // offers the rare one. Everything else is identical.
    let rows = [
        "needy,Needy,cso_ngo,KEN,,,,,hiv_aids;social_protection,,,,,,,,,",
        "c1,C1,cso_ngo,KEN,,,,social_protection,,,,,,,,,,",
        "c2,C2,cso_ngo,KEN,,,,social_protection,,,,,,,,,,",
        "c3,C3,cso_ngo,KEN,,,,social_protection,,,,,,,,,,",
        "c4,C4,cso_ngo,KEN,,,,social_protection,,,,,,,,,,",
        "c5,C5,cso_ngo,KEN,,,,social_protection,,,,,,,,,,",
        "z-rare,Rare,cso_ngo,KEN,,,,hiv_aids,,,,,,,,,,",
    ];
    let world = World::full(&rows);
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    assert_eq!(world.ranked("needy", &rules, 1), vec!["z-rare"]);
    // With rarity off the two kinds of provider tie, and the tie goes to the lower id.
    let flat = World::new(&rows, FeatureSettings::default());
    assert_eq!(flat.ranked("needy", &rules, 1), vec!["c1"]);
}

#[test]
fn a_two_way_match_outranks_an_equal_one_way_match() {
    let world = World::full(&[
        "a,A,cso_ngo,KEN,,,,urban_development,informal_economy,,,,,,,,,",
        "b-two-way,B,cso_ngo,KEN,,,,informal_economy,urban_development,,,,,,,,,",
        "a-one-way,C,cso_ngo,KEN,,,,informal_economy,,,,,,,,,,",
    ]);
    let scorer = world.scorer();
    let (a, two, one) = (world.idx("a"), world.idx("b-two-way"), world.idx("a-one-way"));
    let (t2, t1) = (scorer.terms(a, two), scorer.terms(a, one));
    assert_eq!(t2[Term::Complementarity as usize], t1[Term::Complementarity as usize], "equal strength");
    assert_eq!(t1[Term::MutualBenefit as usize], 0.0);
    assert_eq!(t2[Term::MutualBenefit as usize], 1.0);
    assert_eq!(world.ranked("a", &RuleSet::new(&Default::default(), &[], None, None), 2), vec!["b-two-way", "a-one-way"]);
}

#[test]
fn roles_gate_the_directions() {
    // "giver" only provides; "taker" only benefits: coverage runs one way only.
    let world = World::full(&[
        "giver,G,cso_ngo,KEN,,,,osh,child_labour,provider,,,,,,,,",
        "taker,T,cso_ngo,KEN,,,,child_labour,osh,beneficiary,,,,,,,,",
    ]);
    let e = world.scorer().explain(world.idx("giver"), world.idx("taker"));
    assert_eq!(e.direction.as_str(), "partner_provides");
    assert_eq!(e.raw[Term::MutualBenefit as usize], 0.0);
}

#[test]
fn each_rule_removes_exactly_its_pairs() {
    let dir = Dir::new();
    let world = World::full(&[
        "p1,P1,cso_ngo,KEN,,,,osh,,,,,,,,,,",
        "p2,P2,cso_ngo,KEN,,,,,child_labour,,,,,,,,,",
        "p3,P3,cso_ngo,FRA,,,,osh,child_labour,,,,,,,,,",
        "p4,P4,cso_ngo,IND,,,,,osh,,,,,,,,,",
    ]);
    // shared_theme: p1 and p2 share nothing; p2 and p4 share nothing.
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    assert_eq!(
        world.refused_by(&rules, "shared_theme"),
        pairs(&[("p1", "p2"), ("p2", "p1"), ("p2", "p4"), ("p4", "p2")])
    );
    // demand_driven: p1 is the only partner without a need, so only the pair (p1, p1) has
    // no need on either side (no_self_match removes it first in a run).
    assert_eq!(world.refused_by(&rules, "demand_driven"), pairs(&[("p1", "p1")]));
    // modality south-south: pairs touching p3 (France) go, both directions, and so do
    // domestic pairs (p1 and p2 are both in Kenya; a partner with itself).
    let modality = ModalityFilter { keep: vec![Modality::SouthSouth], triangular: TriangularDefinition::A };
    let rules = RuleSet::new(&Default::default(), &[], Some(modality), None);
    assert_eq!(
        world.refused_by(&rules, "modality"),
        pairs(&[
            ("p1", "p1"), ("p1", "p2"), ("p1", "p3"),
            ("p2", "p1"), ("p2", "p2"), ("p2", "p3"),
            ("p3", "p1"), ("p3", "p2"), ("p3", "p3"), ("p3", "p4"),
            ("p4", "p3"), ("p4", "p4"),
        ])
    );
    // exclusions: a recent contact removes the pair both ways; an expired one and an
    // unknown id remove nothing.
    let file = dir.write(
        "ex.csv",
        "source_id,target_id,date\np1,p4,2026-10-01\np1,p3,2020-01-01\np2,gone,\n",
    );
    let window = PairWindow {
        path: file,
        window_days: 365,
        as_of: Day::parse("2026-11-23").unwrap(),
    };
    let (exclusions, stats, _) = Exclusions::load(&window, &world.profiles).unwrap();
    assert_eq!((stats.rows, stats.pairs_excluded, stats.expired, stats.unknown_ids), (3, 1, 1, 1));
    let rules = RuleSet::new(&Default::default(), &[], None, Some(exclusions));
    assert_eq!(world.refused_by(&rules, "exclusions"), pairs(&[("p1", "p4"), ("p4", "p1")]));
    // Switching a rule off removes it and nothing else.
    let rules = RuleSet::new(&Default::default(), &[OptionalRule::SharedTheme], None, None);
    assert_eq!(rules.names(), vec!["no_self_match", "candidate_active", "demand_driven"]);
}

#[test]
fn modalities_are_classified_on_hand_made_pairs() {
    let world = World::full(&[
        "city-sen,Dakar,local_authority,SEN,city,Dakar,,urban_development,,,,,,,,,,",
        "city-ken,Kisumu,local_authority,KEN,city,Kisumu,,urban_development,,,,,,,,,,",
        "city-fra,Lyon,local_authority,FRA,city,Lyon,,urban_development,,,,,,,,,,",
        "city-deu,Leipzig,local_authority,DEU,city,Leipzig,,urban_development,,,,,,,,,,",
        "network-ken,Network,city_network,KEN,,,,urban_development,,,,,,,,,,",
        "union-ken,Union,workers_organisation,KEN,,,,labour_rights,,,,,,,,,,",
        "coop-bra,Coop,sse_unit,BRA,,,,sse_cooperatives,,,,,,,,,,",
        "msp,Alliance,msp_initiative,FRA,,,,child_labour,,,,,,,,,,",
        "donor-fra,Donor,donor,FRA,,,,,,funder,,,,,,,,",
        "un-che,UN,un_agency,CHE,,,,social_protection,,,,,,,,,,",
        "min-ken,Ministry KE,national_government,KEN,,,,,social_protection,,,,,,,,,",
        "min-ind,Ministry IN,national_government,IND,,,,,social_protection,,,,,,,,,",
        "min-fra,Ministry FR,national_government,FRA,,,,,social_protection,,,,,,,,,",
        "min-deu,Ministry DE,national_government,DEU,,,,,social_protection,,,,,,,,,",
    ]);
    let check = |a: &str, b: &str, definition: TriangularDefinition, expected: Modality| {
        let (i, j) = (world.idx(a) as usize, world.idx(b) as usize);
        assert_eq!(classify(&world.features, i, j, definition), expected, "{a} × {b} ({definition:?})");
        assert_eq!(classify(&world.features, j, i, definition), expected, "symmetric: {b} × {a}");
    };
    use Modality::*;
    use TriangularDefinition::*;
    check("city-sen", "city-ken", A, CityToCity);
    check("city-ken", "network-ken", A, Domestic); // both in Kenya: not international cooperation
    check("union-ken", "min-ken", A, Domestic);
    check("city-fra", "city-deu", A, CityToCity);
    check("city-fra", "city-sen", A, Decentralised); // a northern city with a southern city
    check("union-ken", "coop-bra", A, TradeUnionSse);
    check("msp", "min-ken", A, MultiStakeholder);
    check("donor-fra", "min-ken", A, Triangular); // a funder with no offers: triangular under A
    check("donor-fra", "min-ken", C, NorthSouth); // ... but not a multilateral (C)
    check("un-che", "min-ken", A, NorthSouth); // a UN agency is not a northern funder (A)
    check("un-che", "min-ken", B, Triangular);
    check("un-che", "min-ken", C, Triangular);
    check("min-ken", "min-ind", A, SouthSouth);
    check("min-fra", "min-ken", A, NorthSouth);
    check("min-fra", "min-deu", A, NorthNorth);
    check("donor-fra", "min-deu", A, NorthNorth); // no southern side to support
    check("donor-fra", "min-fra", A, Domestic);

    // Development status is overridable per country.
    let reference = Reference::builtin();
    let mut settings = FeatureSettings { rarity: 1.0, ..FeatureSettings::default() };
    settings.development_overrides.insert(reference.country("KEN").unwrap(), false);
    let overridden = PartnerFeatures::build(&world.profiles, &Default::default(), reference, &settings);
    let (ken, ind) = (world.idx("min-ken") as usize, world.idx("min-ind") as usize);
    assert_eq!(classify(&overridden, ken, ind, A), NorthSouth);
}

#[test]
fn unknown_values_are_neutral_and_opposite_values_are_not() {
    let world = World::full(&[
        "all-ones,A,cso_ngo,KEN,,,,osh,,,1,1,1,1,1,1,1,1",
        "unknown,U,cso_ngo,KEN,,,,osh,,,,,,,,,,",
        "zeros,Z,cso_ngo,KEN,,,,osh,,,0,0,0,0,0,0,0,0",
        "half-known,H,cso_ngo,KEN,,,,osh,,,1,1,1,1,,,,",
    ]);
    let scorer = world.scorer();
    let values = |a: &str, b: &str| scorer.terms(world.idx(a), world.idx(b))[Term::Values as usize];
    assert_eq!(values("all-ones", "unknown"), 0.5);
    assert_eq!(values("all-ones", "zeros"), 0.0);
    assert_eq!(values("all-ones", "half-known"), 0.75); // (4 × 1 + 4 × 0.5) / 8
    assert!(values("all-ones", "unknown") > values("all-ones", "zeros"));
}

#[test]
fn rarity_weights_on_a_tiny_population() {
    // Four profiles; osh is listed by one, child_labour by three.
    let world = World::full(&[
        "a,A,cso_ngo,KEN,,,,osh,child_labour,,,,,,,,,",
        "b,B,cso_ngo,KEN,,,,,child_labour,,,,,,,,,",
        "c,C,cso_ngo,KEN,,,,child_labour,,,,,,,,,,",
        "d,D,cso_ngo,KEN,,,,,,,,,,,,,,",
    ]);
    let themes = &Reference::builtin().themes;
    let osh = themes.lookup("osh").unwrap() as usize;
    let child = themes.lookup("child_labour").unwrap() as usize;
    let full = theme_weights(&world.profiles, 1.0);
    // 1 + ln((1 + 4) / (1 + df)): osh df 1 → 1 + ln 2.5 = 1.91629; child df 3 → 1 + ln 1.25 = 1.22314.
    assert!((full[osh] - 1.916_291).abs() < 1e-5, "{}", full[osh]);
    assert!((full[child] - 1.223_144).abs() < 1e-5, "{}", full[child]);
    let half = theme_weights(&world.profiles, 0.5);
    assert!((half[osh] - 1.916_291f32.sqrt()).abs() < 1e-5);
    assert_eq!(theme_weights(&world.profiles, 0.0)[osh], 1.0);
}
