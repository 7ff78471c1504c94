//! Re-ranking for fair exposure: diversity (maximal marginal relevance) and a minimum share
//! of the partner's own region in each list.
//!
//! Input: each partner's pool of candidates (the best `3k` by score) and [`Rerank`]
//! settings. Output: lists of `k`. With `lambda = 1` and no minimum share the result is the
//! plain ranking (tested).
//!
//! MMR picks, one at a time, the candidate maximising `λ·score − (1−λ)·max similarity to the
//! candidates already picked`, where the similarity of two candidates is half for the same
//! actor type plus half for the same UN sub-region; ties go to the lower candidate index. The
//! regional minimum then
//! swaps in the best remaining same-region candidates for the lowest-placed others until
//! `⌈share·k⌉` of the list is from the partner's sub-region (when the pool has enough).

use crate::engine::features::PartnerFeatures;
use crate::engine::rank::{Hit, Shortlist};

/// Re-ranking settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rerank {
    /// Weight of the score against diversity (1 = plain ranking).
    pub lambda: f32,
    /// Minimum share of each list from the partner's own UN sub-region (0 = none).
    pub min_region_share: f32,
}

impl Rerank {
    /// Whether anything changes the plain ranking.
    pub fn is_active(&self) -> bool {
        self.lambda < 1.0 || self.min_region_share > 0.0
    }
}

fn similarity(f: &PartnerFeatures, a: u32, b: u32) -> f32 {
    let (a, b) = (a as usize, b as usize);
    0.5 * (f.actor[a] == f.actor[b]) as u8 as f32 + 0.5 * (f.sub_region[a] == f.sub_region[b]) as u8 as f32
}

/// Re-ranks one partner's pool (best first) into a list of `k`.
pub fn rerank(f: &PartnerFeatures, list: &Shortlist, k: usize, settings: &Rerank) -> Shortlist {
    // Each remaining candidate with its redundancy: its largest similarity to a pick so far,
    // raised after each pick (so a pick costs one pass over the pool, not one per pick made).
    let mut pool: Vec<(Hit, f32)> = list.hits.iter().map(|&h| (h, 0.0)).collect();
    let mut picked: Vec<Hit> = Vec::with_capacity(k.min(pool.len()));
    while picked.len() < k && !pool.is_empty() {
        let value = |(h, redundancy): &(Hit, f32)| settings.lambda * h.score - (1.0 - settings.lambda) * redundancy;
        let best = (0..pool.len())
            .max_by(|&a, &b| {
                value(&pool[a])
                    .total_cmp(&value(&pool[b]))
                    .then(pool[b].0.candidate.cmp(&pool[a].0.candidate))
            })
            .expect("pool is not empty");
        let (hit, _) = pool.remove(best);
        for (other, redundancy) in &mut pool {
            *redundancy = redundancy.max(similarity(f, other.candidate, hit.candidate));
        }
        picked.push(hit);
    }
    let pool: Vec<Hit> = pool.into_iter().map(|(h, _)| h).collect();
    let region = f.sub_region[list.partner as usize];
    let local = |h: &Hit| f.sub_region[h.candidate as usize] == region;
    let wanted = (settings.min_region_share * k as f32).ceil() as usize;
    let mut spare = pool.into_iter().filter(|h| local(h));
    while picked.iter().filter(|h| local(h)).count() < wanted.min(picked.len()) {
        let (Some(incoming), Some(slot)) = (spare.next(), picked.iter().rposition(|h| !local(h))) else {
            break;
        };
        picked[slot] = incoming;
    }
    Shortlist {
        partner: list.partner,
        hits: picked,
    }
}
