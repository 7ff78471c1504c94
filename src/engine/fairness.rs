//! Fair exposure: how a run's attention is spread over regions, actor types and the
//! partners the sources ask to include.
//!
//! Input: shortlists, features and profiles. Output: [`Fairness`] for the manifest:
//! coverage (share of active partners in at least one list), the Gini coefficient of
//! exposure (appearances weighted 1/log2(rank+1)) over active partners, the mean score of
//! the lists, and per UN sub-region, per country, per actor type and per focus group (local actors,
//! informal-economy organisations, cooperatives and SSE units, MSMEs) the share of exposure
//! next to the share of partners: a group with half the partners and a tenth of the exposure
//! is under-exposed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::features::PartnerFeatures;
use crate::engine::rank::Shortlist;
use crate::engine::reference::Reference;

/// Exposure of one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupExposure {
    /// The group.
    pub group: String,
    /// Share of all exposure.
    pub exposure_share: f64,
    /// Share of active partners.
    pub partner_share: f64,
}

/// Fairness figures of a set of lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// Share of active partners appearing in at least one list.
    pub coverage: f64,
    /// Gini coefficient of exposure over active partners.
    pub exposure_gini: f64,
    /// Mean score of the listed candidates.
    pub mean_score: f64,
    /// By UN sub-region of the candidate.
    pub by_region: Vec<GroupExposure>,
    /// By country of the candidate (ISO3).
    pub by_country: Vec<GroupExposure>,
    /// By actor type of the candidate.
    pub by_actor_type: Vec<GroupExposure>,
    /// The groups the inclusion note names.
    pub focus_groups: Vec<GroupExposure>,
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The focus group of an actor type, if any.
fn focus_group(actor: &str) -> Option<&'static str> {
    match actor {
        "local_authority" | "local_development_agency" | "cso_ngo" => Some("local actors"),
        "informal_workers_organisation" => Some("informal economy organisations"),
        "sse_unit" => Some("cooperatives and SSE units"),
        "private_sector" => Some("MSMEs"),
        _ => None,
    }
}

/// Computes the figures.
pub fn fairness(lists: &[Shortlist], f: &PartnerFeatures, reference: &Reference) -> Fairness {
    let mut exposure = vec![0.0f64; f.len()];
    let (mut score_sum, mut rows) = (0.0f64, 0usize);
    for list in lists {
        for (rank, hit) in list.hits.iter().enumerate() {
            exposure[hit.candidate as usize] += 1.0 / ((rank + 2) as f64).log2();
            score_sum += hit.score as f64;
            rows += 1;
        }
    }
    let active: Vec<usize> = (0..f.len()).filter(|&i| f.active[i]).collect();
    let total: f64 = active.iter().map(|&i| exposure[i]).sum::<f64>().max(1e-12);
    let mut values: Vec<f64> = active.iter().map(|&i| exposure[i]).collect();
    let groups = |name_of: &dyn Fn(usize) -> Option<String>| {
        let mut by: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        for &i in &active {
            if let Some(name) = name_of(i) {
                let entry = by.entry(name).or_default();
                entry.0 += exposure[i];
                entry.1 += 1;
            }
        }
        by.into_iter()
            .map(|(group, (e, n))| GroupExposure {
                group,
                exposure_share: round4(e / total),
                partner_share: round4(n as f64 / active.len().max(1) as f64),
            })
            .collect::<Vec<_>>()
    };
    Fairness {
        coverage: round4(active.iter().filter(|&&i| exposure[i] > 0.0).count() as f64 / active.len().max(1) as f64),
        exposure_gini: round4(gini(&mut values)),
        mean_score: round4(score_sum / rows.max(1) as f64),
        by_region: groups(&|i| Some(reference.sub_regions[f.sub_region[i] as usize].clone())),
        by_country: groups(&|i| Some(reference.countries[f.country[i] as usize].iso3.clone())),
        by_actor_type: groups(&|i| Some(reference.actor_types.id(f.actor[i] as usize).to_string())),
        focus_groups: groups(&|i| focus_group(reference.actor_types.id(f.actor[i] as usize)).map(str::to_string)),
    }
}

/// Gini coefficient of non-negative values (0 when all are equal or all zero).
pub fn gini(values: &mut [f64]) -> f64 {
    let n = values.len();
    let total: f64 = values.iter().sum();
    if n == 0 || total <= 0.0 {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let weighted: f64 = values.iter().enumerate().map(|(i, v)| (i + 1) as f64 * v).sum();
    (2.0 * weighted) / (n as f64 * total) - (n as f64 + 1.0) / n as f64
}
