//! A realistic synthetic partner population, seeded and reproducible.
//!
//! Input: the reference tables and a seed. Output: [`ProfileRecord`]s, marked synthetic, in
//! blocks of [`BLOCK`](super::BLOCK) rows, each block drawn from its own random stream seeded
//! by (seed, block), so N rows are a prefix of any larger N.
//!
//! How realism is built in (the parameters below are the generator's model, documented in
//! data/README.md):
//! - country ∝ population^0.5 (funders and multilaterals lean to high-income countries), then
//!   one of its cities ∝ population^0.8; cities are real (GeoNames), coordinates jittered
//!   ~5 km for organisations, left empty for local authorities (geocoded from the city);
//! - actor types in a fixed mix; each type has themes, sectors, values and roles it favours;
//! - themes also lean on the region (e.g. informal economy in Sub-Saharan Africa, refugees
//!   and migration in Western Asia and Northern Africa, just transition in the North);
//! - developing-region partners declare more needs, developed-region ones offer more.

use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_distr::Normal;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::ProfileRecord;
use crate::engine::profile::VALUE_COUNT;
use crate::engine::reference::Reference;

/// One actor type's generator parameters.
struct ActorModel {
    id: &'static str,
    /// Relative frequency in the population.
    share: f64,
    /// Themes it favours (offers and needs).
    themes: &'static [&'static str],
    /// Sectors it favours.
    sectors: &'static [&'static str],
    /// Mean offers and needs.
    offers: f64,
    needs: f64,
    /// Mean of each value, in values.csv order.
    values: [f64; VALUE_COUNT],
    /// Name pattern: `{city}`, `{country}`, `{region}`, `{sector}` are filled in.
    names: &'static [&'static str],
    /// Leans to high-income countries (funders, multilaterals).
    northern: bool,
}

const ACTORS: &[ActorModel] = &[
    ActorModel { id: "local_authority", share: 12.0, themes: &["local_economic_development", "urban_development", "employment_services", "youth_employment", "informal_economy", "disaster_crisis_response"], sectors: &["public_administration", "infrastructure_water", "transport", "waste_recycling"], offers: 1.5, needs: 3.0, values: [0.7, 0.6, 0.75, 0.8, 0.8, 0.6, 0.6, 0.9], names: &["City of {city}", "Municipality of {city}", "{city} City Council"], northern: false },
    ActorModel { id: "cso_ngo", share: 13.0, themes: &["inequality_poverty", "gender_equality", "child_labour", "human_rights_justice", "refugees_host_communities", "disability_inclusion", "education_access", "health_access"], sectors: &["education", "health_care", "care_work"], offers: 2.0, needs: 2.5, values: [0.85, 0.65, 0.8, 0.7, 0.85, 0.55, 0.75, 0.8], names: &["{city} Community Development Association", "{city} Women's Rights Network", "{country} Children's Rights Foundation"], northern: false },
    ActorModel { id: "sse_unit", share: 12.0, themes: &["sse_cooperatives", "social_finance", "local_economic_development", "rural_economy", "gender_equality"], sectors: &["agriculture", "finance_insurance", "care_work", "food_processing", "waste_recycling"], offers: 2.0, needs: 2.0, values: [0.9, 0.65, 0.8, 0.85, 0.75, 0.6, 0.7, 0.85], names: &["{city} {sector} Cooperative", "{city} Savings and Credit Cooperative", "{city} Women's Producers' Cooperative"], northern: false },
    ActorModel { id: "workers_organisation", share: 10.0, themes: &["labour_rights", "social_dialogue", "osh", "informal_economy", "gender_equality", "labour_migration"], sectors: &["transport", "construction", "manufacturing", "health_care", "education", "textile_garment", "mining", "public_administration"], offers: 2.0, needs: 2.0, values: [0.85, 0.6, 0.7, 0.7, 0.75, 0.85, 0.9, 0.7], names: &["{country} {sector} Workers' Union", "{city} Federation of Trade Unions", "{country} Confederation of Labour"], northern: false },
    ActorModel { id: "informal_workers_organisation", share: 5.0, themes: &["informal_economy", "social_protection", "sse_cooperatives", "social_finance", "urban_development", "gender_equality"], sectors: &["street_vending_markets", "waste_recycling", "domestic_work", "home_based_work", "transport"], offers: 1.0, needs: 3.0, values: [0.9, 0.6, 0.75, 0.7, 0.85, 0.75, 0.9, 0.75], names: &["{city} Alliance of {sector} Workers", "{city} Informal Traders' Association"], northern: false },
    ActorModel { id: "employers_organisation", share: 6.0, themes: &["sustainable_enterprises", "productivity", "skills_lifelong_learning", "trade_supply_chains", "social_dialogue"], sectors: &["manufacturing", "commerce", "construction", "tourism_hospitality", "agriculture", "finance_insurance"], offers: 2.0, needs: 1.5, values: [0.45, 0.5, 0.5, 0.75, 0.55, 0.7, 0.5, 0.55], names: &["{country} Federation of Employers", "{city} Chamber of Commerce and Industry", "{country} {sector} Business Association"], northern: false },
    ActorModel { id: "private_sector", share: 7.0, themes: &["sustainable_enterprises", "productivity", "digital_economy", "skills_lifelong_learning", "trade_supply_chains"], sectors: &["manufacturing", "commerce", "digital_platforms", "tourism_hospitality", "energy", "textile_garment"], offers: 1.5, needs: 1.5, values: [0.45, 0.5, 0.5, 0.75, 0.55, 0.6, 0.5, 0.55], names: &["{city} {sector} Enterprises", "{city} Social Enterprise Hub"], northern: false },
    ActorModel { id: "academia", share: 8.0, themes: &["knowledge_capacity", "skills_lifelong_learning", "education_access", "productivity", "just_transition"], sectors: &["education"], offers: 3.0, needs: 1.0, values: [0.6, 0.7, 0.75, 0.7, 0.6, 0.6, 0.65, 0.6], names: &["University of {city}", "{country} Institute of Labour Studies", "{city} Vocational Training Centre"], northern: false },
    ActorModel { id: "national_government", share: 4.0, themes: &["social_protection", "employment_promotion", "labour_administration", "skills_lifelong_learning", "child_labour"], sectors: &["public_administration"], offers: 2.0, needs: 3.0, values: [0.65, 0.55, 0.6, 0.75, 0.65, 0.7, 0.65, 0.8], names: &["{country} Ministry of Labour", "{country} Ministry of Social Development", "{country} National Employment Agency"], northern: false },
    ActorModel { id: "local_development_agency", share: 4.0, themes: &["local_economic_development", "sustainable_enterprises", "employment_promotion", "skills_lifelong_learning"], sectors: &["public_administration", "agriculture", "commerce"], offers: 2.0, needs: 2.0, values: [0.7, 0.6, 0.75, 0.8, 0.8, 0.6, 0.6, 0.9], names: &["{city} Local Economic Development Agency"], northern: false },
    ActorModel { id: "city_network", share: 2.5, themes: &["knowledge_capacity", "urban_development", "local_economic_development"], sectors: &["public_administration"], offers: 3.0, needs: 1.0, values: [0.75, 0.6, 0.85, 0.8, 0.75, 0.6, 0.6, 0.9], names: &["{country} Association of Municipalities", "{region} Network of Intermediary Cities"], northern: false },
    ActorModel { id: "un_agency", share: 2.0, themes: &["knowledge_capacity", "social_protection", "labour_rights", "employment_promotion", "social_dialogue"], sectors: &["public_administration"], offers: 4.0, needs: 0.5, values: [0.7, 0.6, 0.65, 0.75, 0.7, 0.85, 0.85, 0.7], names: &["UN Regional Programme Office, {city}", "UN Country Team Decent Work Unit, {city}"], northern: false },
    ActorModel { id: "donor", share: 3.5, themes: &["knowledge_capacity", "social_finance", "just_transition"], sectors: &["finance_insurance"], offers: 2.0, needs: 0.3, values: [0.6, 0.35, 0.5, 0.7, 0.6, 0.5, 0.6, 0.6], names: &["{country} Development Cooperation Agency", "{city} Foundation for Social Justice", "{city} Impact Investment Fund"], northern: true },
    ActorModel { id: "multilateral", share: 1.0, themes: &["social_finance", "sustainable_enterprises", "just_transition", "trade_supply_chains"], sectors: &["finance_insurance", "infrastructure_water"], offers: 3.0, needs: 0.5, values: [0.65, 0.45, 0.55, 0.75, 0.65, 0.6, 0.6, 0.65], names: &["{region} Development Bank Office, {city}"], northern: true },
    ActorModel { id: "regional_org", share: 1.5, themes: &["labour_migration", "trade_supply_chains", "knowledge_capacity"], sectors: &["public_administration"], offers: 2.0, needs: 1.5, values: [0.65, 0.55, 0.6, 0.75, 0.65, 0.7, 0.65, 0.8], names: &["{region} Economic Community Secretariat"], northern: false },
    ActorModel { id: "parliament", share: 1.5, themes: &["labour_rights", "human_rights_justice", "gender_equality"], sectors: &["public_administration"], offers: 1.0, needs: 2.0, values: [0.65, 0.55, 0.6, 0.75, 0.65, 0.7, 0.7, 0.8], names: &["{country} Parliamentary Committee on Labour"], northern: false },
    ActorModel { id: "msp_initiative", share: 2.0, themes: &["knowledge_capacity", "just_transition", "child_labour", "social_protection"], sectors: &["public_administration"], offers: 3.0, needs: 1.0, values: [0.75, 0.6, 0.75, 0.8, 0.7, 0.75, 0.75, 0.7], names: &["{region} Alliance for Decent Work", "{country} Multi-Stakeholder Platform on Child Labour"], northern: false },
];

/// Themes each UN M49 sub-region leans to.
fn regional_themes(sub_region: &str) -> &'static [&'static str] {
    match sub_region {
        "Sub-Saharan Africa" => &["informal_economy", "youth_employment", "rural_economy", "social_protection", "skills_lifelong_learning", "sse_cooperatives", "social_finance", "hiv_aids"],
        "Northern Africa" | "Western Asia" => &["refugees_host_communities", "labour_migration", "youth_employment", "gender_equality", "social_protection"],
        "Latin America and the Caribbean" => &["sse_cooperatives", "indigenous_peoples", "informal_economy", "social_protection", "child_labour", "forced_labour_trafficking"],
        "Southern Asia" | "South-eastern Asia" | "Eastern Asia" | "Central Asia" => &["skills_lifelong_learning", "digital_economy", "labour_migration", "osh", "just_transition", "child_labour", "trade_supply_chains"],
        "Melanesia" | "Micronesia" | "Polynesia" => &["disaster_crisis_response", "environment", "rural_economy"],
        _ => &["just_transition", "digital_economy", "social_dialogue", "labour_rights", "knowledge_capacity", "employment_services"],
    }
}

/// Draws synthetic profiles.
pub struct Generator<'r> {
    reference: &'r Reference,
    seed: u64,
    actor_pick: WeightedIndex<f64>,
    country_pick: WeightedIndex<f64>,
    northern_country_pick: WeightedIndex<f64>,
    /// Per country: its cities and a sampler ∝ population^0.8 (None without cities).
    cities: Vec<Option<(Vec<u32>, WeightedIndex<f64>)>>,
}

impl<'r> Generator<'r> {
    /// A generator over the reference tables.
    pub fn new(reference: &'r Reference, seed: u64) -> Self {
        let countries = &reference.countries;
        let population = |i: usize| (countries[i].population.max(1) as f64).sqrt();
        let country_pick = WeightedIndex::new((0..countries.len()).map(population)).expect("weights");
        let northern_country_pick = WeightedIndex::new((0..countries.len()).map(|i| {
            population(i) * if countries[i].income == "High" { 8.0 } else { 0.3 }
        }))
        .expect("weights");
        let mut by_country: Vec<Vec<u32>> = vec![Vec::new(); countries.len()];
        for (i, city) in reference.cities.iter().enumerate() {
            by_country[city.country as usize].push(i as u32);
        }
        let cities = by_country
            .into_iter()
            .map(|list| {
                if list.is_empty() {
                    return None;
                }
                let weights = list
                    .iter()
                    .map(|&c| (reference.cities[c as usize].population.max(1) as f64).powf(0.8));
                Some((list.clone(), WeightedIndex::new(weights).expect("weights")))
            })
            .collect();
        Generator {
            reference,
            seed,
            actor_pick: WeightedIndex::new(ACTORS.iter().map(|a| a.share)).expect("weights"),
            country_pick,
            northern_country_pick,
            cities,
        }
    }

    /// Rows `block × BLOCK .. block × BLOCK + rows` of the population.
    pub fn block(&self, block: usize, rows: usize) -> Vec<ProfileRecord> {
        let stream = self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (block as u64);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
        (0..rows)
            .map(|r| self.profile(block * super::BLOCK + r + 1, &mut rng))
            .collect()
    }

    fn profile(&self, number: usize, rng: &mut Xoshiro256PlusPlus) -> ProfileRecord {
        let reference = self.reference;
        let actor = &ACTORS[self.actor_pick.sample(rng)];
        let country_index = if actor.northern {
            self.northern_country_pick.sample(rng)
        } else {
            self.country_pick.sample(rng)
        };
        let country = &reference.countries[country_index];
        let sub_region = &reference.sub_regions[country.sub_region as usize];
        let city = self.cities[country_index]
            .as_ref()
            .map(|(list, pick)| &reference.cities[list[pick.sample(rng)] as usize]);
        let is_city = actor.id == "local_authority";

        let theme_weights: Vec<f64> = reference
            .themes
            .ids()
            .iter()
            .map(|t| {
                1.0 + 6.0 * actor.themes.contains(&t.as_str()) as u8 as f64
                    + 4.0 * regional_themes(sub_region).contains(&t.as_str()) as u8 as f64
            })
            .collect();
        let (offer_shift, need_shift) = if country.developing { (0.0, 1.0) } else { (1.0, -1.0) };
        let offer_count = count(rng, actor.offers + offer_shift);
        let offers = draw(rng, &theme_weights, offer_count, &[]);
        let need_count = count(rng, (actor.needs + need_shift).max(0.2));
        let needs = draw(rng, &theme_weights, need_count, &offers);
        let sector_weights: Vec<f64> = reference
            .sectors
            .ids()
            .iter()
            .map(|s| 0.3 + 8.0 * actor.sectors.contains(&s.as_str()) as u8 as f64)
            .collect();
        let sector_count = rng.gen_range(0..=3);
        let sectors = draw(rng, &sector_weights, sector_count, &[]);
        let sector_label = sectors
            .first()
            .map(|&s| title(reference.sectors.id(s)))
            .unwrap_or_else(|| "General".into());

        let noise = Normal::new(0.0, 0.1).expect("valid");
        let shift: f64 = Normal::new(0.0, 0.08).expect("valid").sample(rng);
        let no_values = rng.gen_bool(0.25);
        let values = std::array::from_fn(|v| {
            (!no_values && !rng.gen_bool(0.15)).then(|| {
                let x: f64 = actor.values[v] + shift + noise.sample(rng);
                (x.clamp(0.0, 1.0) * 100.0).round() / 100.0
            })
        });

        let city_name = city.map_or(country.name.as_str(), |c| c.name.as_str());
        let pattern = actor.names[rng.gen_range(0..actor.names.len())];
        let name = pattern
            .replace("{city}", city_name)
            .replace("{country}", &country.name)
            .replace("{region}", sub_region)
            .replace("{sector}", &sector_label);
        let (lat, lon) = match (is_city, city) {
            (false, Some(c)) => {
                let jitter = Normal::new(0.0, 0.05).expect("valid");
                (
                    Some(round5((c.lat + jitter.sample(rng)).clamp(-90.0, 90.0))),
                    Some(round5((c.lon + jitter.sample(rng)).clamp(-180.0, 180.0))),
                )
            }
            (false, None) => (Some(country.lat), Some(country.lon)),
            (true, _) => (None, None),
        };
        let roles = match actor.id {
            "donor" => "funder",
            "multilateral" => "funder;provider",
            "city_network" | "msp_initiative" => "provider;facilitator",
            "un_agency" => "provider;facilitator",
            _ if rng.gen_bool(0.1) => "beneficiary",
            _ if rng.gen_bool(0.1) => "provider",
            _ => "provider;beneficiary",
        };
        let id = format!("syn-{number:07}");
        ProfileRecord {
            contact_email: Some(format!("partnerships+{id}@example.org")),
            contact_name: Some("Partnerships desk".into()),
            id,
            name: format!("{name} [synthetic]"),
            actor_type: actor.id.into(),
            entity_kind: if is_city { "city" } else { "organisation" }.into(),
            country_iso3: country.iso3.clone(),
            city: city.map(|c| c.name.clone()),
            lat,
            lon,
            population: if is_city { city.map(|c| c.population) } else { None },
            languages: rng.gen_bool(0.1).then(|| {
                let mut langs = country.languages.iter().take(1).cloned().collect::<Vec<_>>();
                if !langs.iter().any(|l| l == "en") {
                    langs.push("en".into());
                }
                langs.join(";")
            }),
            offers: ids(&offers, reference.themes.ids()),
            needs: ids(&needs, reference.themes.ids()),
            sectors: ids(&sectors, reference.sectors.ids()),
            roles: roles.into(),
            values,
            capacity: Some(rng.gen_range(1..=if actor.offers >= 3.0 { 10 } else { 4 })),
            horizon: Some(["short_term", "long_term", "ad_hoc"][rng.gen_range(0..3)].into()),
            active: rng.gen_bool(0.97),
            synthetic: true,
        }
    }
}

/// A small count with the given mean (Poisson by inversion, capped at 8).
fn count(rng: &mut impl Rng, mean: f64) -> usize {
    let (mut k, mut p, limit) = (0usize, 1.0f64, (-mean).exp());
    loop {
        p *= rng.gen::<f64>();
        if p <= limit || k == 8 {
            return k;
        }
        k += 1;
    }
}

/// `n` distinct indices drawn ∝ `weights`, excluding `exclude`, ascending.
fn draw(rng: &mut impl Rng, weights: &[f64], n: usize, exclude: &[usize]) -> Vec<usize> {
    let mut weights = weights.to_vec();
    for &e in exclude {
        weights[e] = 0.0;
    }
    let mut chosen = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(pick) = WeightedIndex::new(&weights) else {
            break;
        };
        let i = pick.sample(rng);
        weights[i] = 0.0;
        chosen.push(i);
    }
    chosen.sort_unstable();
    chosen
}

fn ids(indices: &[usize], vocabulary: &[String]) -> String {
    indices
        .iter()
        .map(|&i| vocabulary[i].as_str())
        .collect::<Vec<_>>()
        .join(";")
}

fn title(id: &str) -> String {
    let first = id.split('_').next().unwrap_or(id);
    let mut chars = first.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_models_use_vocabulary_ids() {
        let r = Reference::builtin();
        for a in ACTORS {
            assert!(r.actor_types.lookup(a.id).is_some(), "{}", a.id);
            for t in a.themes {
                assert!(r.themes.lookup(t).is_some(), "{t}");
            }
            for s in a.sectors {
                assert!(r.sectors.lookup(s).is_some(), "{s}");
            }
        }
        assert_eq!(ACTORS.len(), r.actor_types.len(), "every actor type is generated");
        for sub in &r.sub_regions {
            for t in regional_themes(sub) {
                assert!(r.themes.lookup(t).is_some(), "{t}");
            }
        }
    }

    #[test]
    fn blocks_are_reproducible_and_prefix_stable() {
        let g = Generator::new(Reference::builtin(), 7);
        assert_eq!(g.block(3, 50), g.block(3, 50));
        assert_eq!(g.block(3, 20)[..], g.block(3, 50)[..20]);
        assert_ne!(g.block(3, 20), Generator::new(Reference::builtin(), 8).block(3, 20));
    }
}
