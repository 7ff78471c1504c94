//! Features: turn profiles into the vectors that scoring and clustering read.
//!
//! Input: validated, id-sorted [`Profile`]s, their likely [`Duplicates`] and the
//! [`Reference`] data. Output: [`PartnerFeatures`], structure-of-arrays blocks for the pair
//! score and the rules (geocentric unit vectors, theme/sector bitsets, values with a
//! known-mask, actor type, region, languages, theme rarity weights, duplicate groups), and
//! [`PartnerFeatures::dense`], the `[N × d]` ndarray matrix that k-means clusters, laid out
//! by [`DENSE_BLOCKS`].
//!
//! **Invariant:** features know nothing about term weights; the same features serve every
//! weighting an analyst tries.

use std::collections::HashMap;

use ndarray::Array2;

use crate::engine::ingest::Duplicates;
use crate::engine::profile::{EntityKind, IdSet, Profile, VALUE_COUNT};
use crate::engine::reference::Reference;
use crate::io::table::StringTable;
use crate::PartnerIdx;

/// Up to this many languages per partner take part in the language term (primary first).
pub const MAX_LANGUAGES: usize = 4;
const NO_LANGUAGE: u16 = u16::MAX;

/// The bit of [`PartnerFeatures::language_bits`] that stands for every language without a bit
/// of its own.
pub const OTHER_LANGUAGES: u64 = 1 << 63;

/// The blocks of the dense clustering matrix, in column order: (name, width). Each block is
/// scaled to unit norm (or zero) so no block dominates by its width.
pub const DENSE_BLOCKS: [(&str, usize); 6] = [
    ("geography", 3),
    ("offers", 36),
    ("needs", 36),
    ("values", VALUE_COUNT),
    ("sector", 25),
    ("actor_type", 17),
];

/// Total width of the dense matrix.
pub const DENSE_WIDTH: usize = 3 + 36 + 36 + VALUE_COUNT + 25 + 17;

/// Per-partner feature blocks, indexed by [`PartnerIdx`].
pub struct PartnerFeatures {
    /// Geocentric unit vector (x, y, z) of each partner's location.
    pub unit: Vec<[f32; 3]>,
    /// Themes offered.
    pub offers: Vec<IdSet>,
    /// Themes needed.
    pub needs: Vec<IdSet>,
    /// Sectors.
    pub sectors: Vec<IdSet>,
    /// Actor-type index.
    pub actor: Vec<u8>,
    /// Country index.
    pub country: Vec<u16>,
    /// UN M49 sub-region index.
    pub sub_region: Vec<u16>,
    /// Value scores in [0, 1]; meaningful only where the matching bit of `values_known` is set.
    pub values: Vec<[f32; VALUE_COUNT]>,
    /// Bit v set when value v is known.
    pub values_known: Vec<u8>,
    /// Interned language codes, primary first, padded.
    pub languages: Vec<[u16; MAX_LANGUAGES]>,
    /// The same languages as bits: one bit for each of the registry's 63 most spoken (by
    /// partners, ties by first appearance), [`OTHER_LANGUAGES`] for the rest. Two partners
    /// of which one has no [`OTHER_LANGUAGES`] share a language exactly when they share a bit.
    pub language_bits: Vec<u64>,
    /// Rarity weight of each theme (see [`theme_weights`]).
    pub theme_weight: [f32; 64],
    /// Sum of theme weights over each partner's needs (the denominator of need coverage).
    pub need_mass: Vec<f32>,
    /// Whether each partner is active.
    pub active: Vec<bool>,
    /// Willing to provide expertise (role `provider`).
    pub can_provide: Vec<bool>,
    /// Willing to be supported (role `beneficiary`).
    pub can_benefit: Vec<bool>,
    /// In the Global South (M49 developing region, or as overridden per country).
    pub developing: Vec<bool>,
    /// World Bank income group: 0 unknown, 1 low, 2 lower middle, 3 upper middle, 4 high.
    pub income: Vec<u8>,
    /// City size class for cities with a population ([`city_size_class`]); 0 otherwise.
    pub city_class: Vec<u8>,
    /// [`kind`] flags: what kinds of cooperation the partner's actor type takes part in.
    pub kind: Vec<u8>,
    /// Each partner's group of likely duplicate records, the smallest index in it (its own
    /// index when alone): the `not_duplicates` rule.
    pub duplicate_group: Vec<PartnerIdx>,
}

/// Development status per country index (true = South) from a table with `country_iso3` and
/// `status` (`south`/`developing` or `north`/`developed`); the error says what to fix.
pub fn development_overrides(table: &StringTable, reference: &Reference) -> Result<HashMap<u16, bool>, String> {
    let (Some(country), Some(status)) = (table.position("country_iso3"), table.position("status")) else {
        return Err("needs columns country_iso3 and status (south or north)".into());
    };
    let mut overrides = HashMap::new();
    for row in 0..table.height() {
        let line = table.source_row(row) + 1;
        let code = table.cell(country, row).unwrap_or_default();
        let index = reference
            .country(&code.to_ascii_uppercase())
            .ok_or_else(|| format!("row {line}: unknown country code '{code}'"))?;
        let south = match table.cell(status, row).map(str::to_ascii_lowercase).as_deref() {
            Some("south") | Some("developing") => true,
            Some("north") | Some("developed") => false,
            other => return Err(format!("row {line}: status '{}' must be south or north", other.unwrap_or_default())),
        };
        overrides.insert(index, south);
    }
    Ok(overrides)
}

/// Settings of the feature stage that come from the run's configuration.
#[derive(Clone, Debug, Default)]
pub struct FeatureSettings {
    /// Theme rarity exponent (0 off, 1 full).
    pub rarity: f32,
    /// Development status per country index, overriding the M49 flag (true = South).
    pub development_overrides: HashMap<u16, bool>,
}

/// Bit flags of [`PartnerFeatures::kind`], derived from the actor type and roles.
pub mod kind {
    /// A local or regional authority, its agency, or a city network.
    pub const LOCAL_GOVERNMENT: u8 = 1;
    /// A workers' or informal workers' organisation.
    pub const UNION: u8 = 2;
    /// A social and solidarity economy unit.
    pub const SSE: u8 = 4;
    /// A multi-stakeholder initiative.
    pub const MSP: u8 = 8;
    /// A UN agency, multilateral body or regional organisation.
    pub const INTERNATIONAL: u8 = 16;
    /// A funder: a donor, or any partner with the `funder` role.
    pub const FUNDER: u8 = 32;
    /// A UN agency or multilateral body (the multilateral institutions of triangular C).
    pub const MULTILATERAL: u8 = 64;
    /// A partner with the `facilitator` role.
    pub const FACILITATOR: u8 = 128;
}

/// City size class: 1 under 50,000; 2 intermediary (50,000 to 1,000,000, the city study's
/// peers); 3 large (to 5 million); 4 metropolis.
pub fn city_size_class(population: u64) -> u8 {
    match population {
        0..50_000 => 1,
        50_000..=1_000_000 => 2,
        1_000_001..=5_000_000 => 3,
        _ => 4,
    }
}

fn income_rank(group: &str) -> u8 {
    match group {
        "Low" => 1,
        "Lower middle" => 2,
        "Upper middle" => 3,
        "High" => 4,
        _ => 0,
    }
}

fn kind_flags(profile: &Profile, reference: &Reference) -> u8 {
    let actor = reference.actor_types.id(profile.actor_type as usize);
    let mut flags = match actor {
        "local_authority" | "local_development_agency" | "city_network" => kind::LOCAL_GOVERNMENT,
        "workers_organisation" | "informal_workers_organisation" => kind::UNION,
        "sse_unit" => kind::SSE,
        "msp_initiative" => kind::MSP,
        "un_agency" | "multilateral" => kind::INTERNATIONAL | kind::MULTILATERAL,
        "regional_org" => kind::INTERNATIONAL,
        "donor" => kind::FUNDER,
        _ => 0,
    };
    for (role, flag) in [("funder", kind::FUNDER), ("facilitator", kind::FACILITATOR)] {
        if profile.roles.contains(reference.roles.lookup(role).expect("contract role")) {
            flags |= flag;
        }
    }
    flags
}

impl PartnerFeatures {
    /// Builds all blocks.
    pub fn build(profiles: &[Profile], duplicates: &Duplicates, reference: &Reference, settings: &FeatureSettings) -> Self {
        let theme_weight = theme_weights(profiles, settings.rarity);
        let provider = reference.roles.lookup("provider").expect("contract role");
        let beneficiary = reference.roles.lookup("beneficiary").expect("contract role");
        let country = |p: &Profile| &reference.countries[p.country as usize];
        let mut language_ids: Vec<String> = Vec::new();
        let mut intern = |code: &str| -> u16 {
            match language_ids.iter().position(|l| l == code) {
                Some(i) => i as u16,
                None => {
                    language_ids.push(code.to_string());
                    (language_ids.len() - 1) as u16
                }
            }
        };
        let languages: Vec<[u16; MAX_LANGUAGES]> = profiles
            .iter()
            .map(|p| {
                let mut slots = [NO_LANGUAGE; MAX_LANGUAGES];
                for (slot, code) in slots.iter_mut().zip(&p.languages) {
                    *slot = intern(code);
                }
                slots
            })
            .collect();
        let language_bits = language_bits(&languages, language_ids.len());
        PartnerFeatures {
            unit: profiles.iter().map(|p| unit_vector(p.lat, p.lon)).collect(),
            offers: profiles.iter().map(|p| p.offers).collect(),
            needs: profiles.iter().map(|p| p.needs).collect(),
            sectors: profiles.iter().map(|p| p.sectors).collect(),
            actor: profiles.iter().map(|p| p.actor_type).collect(),
            country: profiles.iter().map(|p| p.country).collect(),
            sub_region: profiles.iter().map(|p| country(p).sub_region).collect(),
            values: profiles
                .iter()
                .map(|p| p.values.map(|v| v.unwrap_or(0.0)))
                .collect(),
            values_known: profiles
                .iter()
                .map(|p| {
                    p.values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_some())
                        .fold(0u8, |mask, (i, _)| mask | (1 << i))
                })
                .collect(),
            languages,
            language_bits,
            need_mass: profiles
                .iter()
                .map(|p| weighted_count(p.needs, &theme_weight))
                .collect(),
            theme_weight,
            active: profiles.iter().map(|p| p.active).collect(),
            can_provide: profiles.iter().map(|p| p.roles.contains(provider)).collect(),
            can_benefit: profiles.iter().map(|p| p.roles.contains(beneficiary)).collect(),
            developing: profiles
                .iter()
                .map(|p| {
                    settings
                        .development_overrides
                        .get(&p.country)
                        .copied()
                        .unwrap_or(country(p).developing)
                })
                .collect(),
            income: profiles.iter().map(|p| income_rank(&country(p).income)).collect(),
            city_class: profiles
                .iter()
                .map(|p| match (p.entity_kind, p.population) {
                    (EntityKind::City, Some(population)) => city_size_class(population),
                    _ => 0,
                })
                .collect(),
            kind: profiles.iter().map(|p| kind_flags(p, reference)).collect(),
            duplicate_group: (0..profiles.len() as PartnerIdx).map(|i| duplicates.group_of(i)).collect(),
        }
    }

    /// Number of partners.
    pub fn len(&self) -> usize {
        self.unit.len()
    }

    /// True when there are no partners.
    pub fn is_empty(&self) -> bool {
        self.unit.is_empty()
    }

    /// One more than the highest theme index any partner offers or needs.
    pub fn theme_count(&self) -> usize {
        let all = self.offers.iter().chain(&self.needs).fold(0u64, |acc, s| acc | s.0);
        (u64::BITS - all.leading_zeros()) as usize
    }

    /// One partner's dense clustering vector (see [`DENSE_BLOCKS`]).
    pub fn dense_row(&self, i: PartnerIdx, out: &mut [f32]) {
        let i = i as usize;
        out.fill(0.0);
        out[..3].copy_from_slice(&self.unit[i]);
        let mut at = 3;
        for set in [self.offers[i], self.needs[i]] {
            one_hot_normalised(set, &mut out[at..at + 36]);
            at += 36;
        }
        let known = self.values_known[i];
        let block = &mut out[at..at + VALUE_COUNT];
        for (v, slot) in block.iter_mut().enumerate() {
            if known & (1 << v) != 0 {
                *slot = self.values[i][v] - 0.5;
            }
        }
        normalise(block);
        at += VALUE_COUNT;
        one_hot_normalised(self.sectors[i], &mut out[at..at + 25]);
        at += 25;
        out[at + self.actor[i] as usize] = 1.0;
    }

    /// The dense `[rows.len() × DENSE_WIDTH]` matrix of the given partners, for k-means.
    pub fn dense(&self, rows: &[PartnerIdx]) -> Array2<f32> {
        let mut matrix = Array2::zeros((rows.len(), DENSE_WIDTH));
        for (r, &i) in rows.iter().enumerate() {
            let mut row = matrix.row_mut(r);
            self.dense_row(i, row.as_slice_mut().expect("standard layout"));
        }
        matrix
    }
}

/// The [`PartnerFeatures::language_bits`] of every partner, from its interned languages
/// (`count` distinct).
fn language_bits(languages: &[[u16; MAX_LANGUAGES]], count: usize) -> Vec<u64> {
    let mut speakers = vec![0usize; count];
    for &l in languages.iter().flatten().filter(|&&l| l != NO_LANGUAGE) {
        speakers[l as usize] += 1;
    }
    let mut by_speakers: Vec<usize> = (0..count).collect();
    by_speakers.sort_by_key(|&l| (std::cmp::Reverse(speakers[l]), l));
    let mut bit = vec![OTHER_LANGUAGES; count];
    for (rank, &l) in by_speakers.iter().take(63).enumerate() {
        bit[l] = 1 << rank;
    }
    languages
        .iter()
        .map(|slots| slots.iter().filter(|&&l| l != NO_LANGUAGE).fold(0, |bits, &l| bits | bit[l as usize]))
        .collect()
}

/// Mean Earth radius, km.
pub const EARTH_RADIUS_KM: f32 = 6371.009; // IUGG mean radius 6,371.0088 km, nearest f32

/// Great-circle distance in km between two geocentric unit vectors, from the chord:
/// `a = |u - v|² / 4`, `d = 2R·asin(√a)`. Precise in f32 (no `1 - cos` cancellation), and
/// symmetric bit for bit because the squared differences are.
#[inline]
pub fn distance_km(u: &[f32; 3], v: &[f32; 3]) -> f32 {
    let (dx, dy, dz) = (u[0] - v[0], u[1] - v[1], u[2] - v[2]);
    let a = (dx * dx + dy * dy + dz * dz) * 0.25;
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Geocentric unit vector of a latitude/longitude in degrees.
pub fn unit_vector(lat: f64, lon: f64) -> [f32; 3] {
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    [
        (phi.cos() * lambda.cos()) as f32,
        (phi.cos() * lambda.sin()) as f32,
        phi.sin() as f32,
    ]
}

/// Rarity weight per theme: smoothed inverse document frequency over the profiles,
/// `(1 + ln((1 + N) / (1 + df_t)))^rarity`, where `df_t` counts profiles listing theme `t` as
/// an offer or a need. With `rarity = 0` every theme weighs 1.
pub fn theme_weights(profiles: &[Profile], rarity: f32) -> [f32; 64] {
    let mut df = [0u32; 64];
    for p in profiles {
        for t in p.offers.union(p.needs).iter() {
            df[t as usize] += 1;
        }
    }
    let n = profiles.len() as f32;
    df.map(|d| (1.0 + ((1.0 + n) / (1.0 + d as f32)).ln()).powf(rarity))
}

/// Sum of theme weights over a set.
pub fn weighted_count(set: IdSet, weight: &[f32; 64]) -> f32 {
    set.iter().map(|t| weight[t as usize]).sum()
}

fn one_hot_normalised(set: IdSet, out: &mut [f32]) {
    if set.is_empty() {
        return;
    }
    let value = 1.0 / (set.len() as f32).sqrt();
    for index in set.iter() {
        out[index as usize] = value;
    }
}

fn normalise(block: &mut [f32]) {
    let norm = block.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 1e-6 {
        block.iter_mut().for_each(|v| *v /= norm);
    }
}
