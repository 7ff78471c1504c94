//! Query: what the kernel needs of the partner on the query side of a scan.
//!
//! Input: a [`Scorer`] and one partner. Output: its [`Query`], gathered once per partner and
//! read by the kernel for every run of candidates, and by the rules' column forms.

use crate::engine::profile::{IdSet, VALUE_COUNT};
use crate::engine::score::Scorer;
use crate::PartnerIdx;

/// What the kernel needs of the partner on the query side, gathered once per partner.
pub struct Query {
    pub(crate) partner: PartnerIdx,
    /// Themes it offers, when it may provide, and their weights.
    pub(super) offers: Vec<(usize, f32)>,
    /// Themes it needs, when it may benefit, and their weights.
    pub(super) needs: Vec<(usize, f32)>,
    pub(super) need_mass: f32,
    pub(super) values: [f32; VALUE_COUNT],
    pub(super) values_known: u8,
    pub(super) languages: Vec<u16>,
    pub(super) language_bits: u64,
    /// Themes offered or needed (the `shared_theme` rule).
    pub(crate) topics: u64,
    /// Whether it needs anything (the `demand_driven` rule).
    pub(crate) needs_any: bool,
    /// Its group of likely duplicates (the `not_duplicates` rule).
    pub(crate) duplicate_group: PartnerIdx,
    pub(super) sectors: u64,
    pub(super) developing: bool,
    pub(super) income: u8,
    pub(super) city_class: u8,
    pub(super) actor: usize,
    pub(super) sub_region: u16,
    pub(super) unit: [f32; 3],
}

impl Query {
    /// The query side of `partner`.
    pub fn new(scorer: &Scorer, partner: PartnerIdx) -> Self {
        let f = scorer.features();
        let i = partner as usize;
        let weighted = |themes: IdSet| themes.iter().map(|t| (t as usize, f.theme_weight[t as usize])).collect();
        Query {
            partner,
            offers: if f.can_provide[i] { weighted(f.offers[i]) } else { Vec::new() },
            needs: if f.can_benefit[i] { weighted(f.needs[i]) } else { Vec::new() },
            need_mass: f.need_mass[i],
            values: f.values[i],
            values_known: f.values_known[i],
            languages: f.languages[i].iter().copied().filter(|&l| l != u16::MAX).collect(),
            language_bits: f.language_bits[i],
            topics: f.offers[i].0 | f.needs[i].0,
            needs_any: !f.needs[i].is_empty(),
            duplicate_group: f.duplicate_group[i],
            sectors: f.sectors[i].0,
            developing: f.developing[i],
            income: f.income[i],
            city_class: f.city_class[i],
            actor: f.actor[i] as usize,
            sub_region: f.sub_region[i],
            unit: f.unit[i],
        }
    }

    /// The partner.
    pub fn partner(&self) -> PartnerIdx {
        self.partner
    }
}
