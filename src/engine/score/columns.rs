//! Columns: the candidate side of the features, laid out for the tile kernel.
//!
//! Input: a [`Scorer`] and an order of partners (every partner in index order for exact
//! lists, the members of one leaf block in blocked mode, any subset for a restricted scan).
//! Output: [`Columns`], one column per attribute in that order, so that the kernel reads a
//! run of up to [`TILE`] consecutive positions as straight slices.
//!
//! Why this shape: the kernel does a few arithmetic operations per pair, so it reads columns
//! the compiler can vectorise. Expertise is a word per position, a bit per theme (a
//! partner's need coverage of a run tests the bit of each theme it offers): every partner of
//! a batch reads the same 16 bytes per position, where rows per theme made each read its own
//! rows (100k blocked rank stage, alternated: 16.3 and 17.3 s with rows, 15.1 and 16.4 s with
//! words). Whatever depends on the query only through a small key is a column
//! per key value (the actor-type term), not a gather per lane.

use std::ops::Range;

use crate::engine::features::MAX_LANGUAGES;
use crate::engine::profile::VALUE_COUNT;
use crate::engine::score::bound::ball;
use crate::engine::score::Scorer;
use crate::PartnerIdx;

/// Positions scored together: the tile's columns stay in the first-level caches.
pub const TILE: usize = 256;

/// The candidate side of the features in a chosen order, one column per attribute and, for
/// expertise, one row per theme.
pub struct Columns {
    pub(crate) len: usize,
    /// The partner at each position.
    pub partner: Vec<PartnerIdx>,
    /// Themes the partner needs, when it may benefit (a bit per theme).
    pub(crate) needed: Vec<u64>,
    /// Themes the partner offers, when it may provide.
    pub(crate) offered: Vec<u64>,
    pub(crate) need_mass: Vec<f32>,
    /// `[value × len]`.
    pub(crate) values: Vec<f32>,
    pub(crate) values_known: Vec<u8>,
    /// `[slot × len]`.
    pub(crate) languages: Vec<u16>,
    pub(crate) language_bits: Vec<u64>,
    /// Themes offered or needed (the `shared_theme` rule).
    pub(crate) topics: Vec<u64>,
    /// Themes needed (the `demand_driven` rule).
    pub(crate) needs: Vec<u64>,
    pub(crate) sectors: Vec<u64>,
    pub(crate) developing: Vec<bool>,
    pub(crate) income: Vec<u8>,
    pub(crate) city_class: Vec<u8>,
    /// `[actor type × len]`: the actor-type term of a partner of that type with each position.
    pub(crate) actor_term: Vec<f32>,
    pub(crate) sub_region: Vec<u16>,
    pub(crate) active: Vec<bool>,
    /// The group of likely duplicates (the `not_duplicates` rule).
    pub(crate) duplicate_group: Vec<PartnerIdx>,
    /// Unit-vector coordinates x, y, z.
    pub(crate) unit: [Vec<f32>; 3],
    /// A ball holding every position's unit vector: its center and radius (a chord).
    pub(crate) ball: ([f32; 3], f32),
    /// The sub-region of every position, when they all share one.
    pub(crate) only_region: Option<u16>,
}

impl Columns {
    /// The columns of `order` (every position one partner, any order) for `scorer`.
    pub fn build(scorer: &Scorer, order: Vec<PartnerIdx>) -> Self {
        let f = scorer.features;
        let len = order.len();
        let mut values = vec![0.0; VALUE_COUNT * len];
        let mut languages = vec![0; MAX_LANGUAGES * len];
        let mut actor_term = vec![0.0; scorer.actor_types * len];
        for (pos, &i) in order.iter().enumerate() {
            let i = i as usize;
            for v in 0..VALUE_COUNT {
                values[v * len + pos] = f.values[i][v];
            }
            for s in 0..MAX_LANGUAGES {
                languages[s * len + pos] = f.languages[i][s];
            }
            for a in 0..scorer.actor_types {
                actor_term[a * len + pos] = scorer.compatibility[a * scorer.actor_types + f.actor[i] as usize];
            }
        }
        let column = |get: &dyn Fn(usize) -> f32| order.iter().map(|&i| get(i as usize)).collect::<Vec<f32>>();
        let region = |i: &PartnerIdx| f.sub_region[*i as usize];
        let only_region = order.first().map(region).filter(|&first| order.iter().all(|i| region(i) == first));
        Columns {
            len,
            needed: order.iter().map(|&i| if f.can_benefit[i as usize] { f.needs[i as usize].0 } else { 0 }).collect(),
            offered: order.iter().map(|&i| if f.can_provide[i as usize] { f.offers[i as usize].0 } else { 0 }).collect(),
            need_mass: column(&|i| f.need_mass[i]),
            values,
            values_known: order.iter().map(|&i| f.values_known[i as usize]).collect(),
            languages,
            language_bits: order.iter().map(|&i| f.language_bits[i as usize]).collect(),
            topics: order.iter().map(|&i| f.offers[i as usize].0 | f.needs[i as usize].0).collect(),
            needs: order.iter().map(|&i| f.needs[i as usize].0).collect(),
            sectors: order.iter().map(|&i| f.sectors[i as usize].0).collect(),
            developing: order.iter().map(|&i| f.developing[i as usize]).collect(),
            income: order.iter().map(|&i| f.income[i as usize]).collect(),
            city_class: order.iter().map(|&i| f.city_class[i as usize]).collect(),
            actor_term,
            sub_region: order.iter().map(|&i| f.sub_region[i as usize]).collect(),
            active: order.iter().map(|&i| f.active[i as usize]).collect(),
            duplicate_group: order.iter().map(|&i| f.duplicate_group[i as usize]).collect(),
            unit: [0, 1, 2].map(|c| column(&|i| f.unit[i][c])),
            ball: ball(f, &order),
            only_region,
            partner: order,
        }
    }

    /// Every partner, in index order.
    pub fn in_index_order(scorer: &Scorer) -> Self {
        Columns::build(scorer, (0..scorer.features.len() as PartnerIdx).collect())
    }

    /// Whether position `p` holds partner `p`, for every partner of `n`.
    pub fn is_index_order(&self, n: usize) -> bool {
        self.len == n && self.partner.iter().enumerate().all(|(p, &i)| p == i as usize)
    }

    /// Runs of at most [`TILE`] consecutive positions covering `positions`.
    pub fn runs(positions: Range<usize>) -> impl Iterator<Item = Range<usize>> {
        let end = positions.end;
        positions.step_by(TILE).map(move |start| start..end.min(start + TILE))
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no positions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
