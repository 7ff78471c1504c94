//! Ranking metrics over shortlists.
//!
//! Input: ranked lists (partner id → candidate ids, best first) and the relevant partners of
//! each query (from known partnerships, both directions). Output: [`Accuracy`]
//! (precision@k, recall@k, MRR@k, nDCG@k, MAP@k, hit rate, averaged over the queries that
//! have at least one relevant partner) and [`BeyondAccuracy`] (catalogue coverage, exposure
//! Gini, intra-list diversity over every list).
//!
//! Definitions follow the `ranx` library with binary relevance (checked against values it
//! computed, `tests/data/eval/`): P@k = hits/k; R@k = hits/|rel|; MRR@k = 1/rank of the first
//! hit within k; nDCG@k = Σ_hits 1/log2(rank+1) ÷ Σ_{i ≤ min(|rel|,k)} 1/log2(i+1);
//! AP@k = Σ_hits P@rank ÷ |rel|; a query with no list scores 0.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::fairness::gini;

/// Partner id → candidate ids, best first.
pub type Lists = BTreeMap<String, Vec<String>>;

/// Partner id → the partners it is known to partner with.
pub type Relevant = BTreeMap<String, BTreeSet<String>>;

/// Accuracy averaged over queries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Accuracy {
    /// Queries (partners with at least one known partner).
    pub queries: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean reciprocal rank of the first hit within k.
    pub mrr: f64,
    /// Mean nDCG@k.
    pub ndcg: f64,
    /// Mean average precision@k.
    pub map: f64,
    /// Share of queries with at least one hit in the top k.
    pub hit_rate: f64,
}

/// The accuracy metric `tune` maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Metric {
    /// nDCG@k.
    Ndcg,
    /// MAP@k.
    Map,
    /// MRR@k.
    Mrr,
    /// Recall@k.
    Recall,
    /// Precision@k.
    Precision,
    /// Hit rate.
    HitRate,
}

impl Metric {
    /// Its value in `a`.
    pub fn of(self, a: &Accuracy) -> f64 {
        match self {
            Metric::Ndcg => a.ndcg,
            Metric::Map => a.map,
            Metric::Mrr => a.mrr,
            Metric::Recall => a.recall,
            Metric::Precision => a.precision,
            Metric::HitRate => a.hit_rate,
        }
    }

    /// The flag spelling.
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value().expect("every metric has a name").get_name().to_string()
    }
}

/// The metrics of one query.
pub fn query_metrics(list: &[String], relevant: &BTreeSet<String>, k: usize) -> Accuracy {
    let mut hits = 0usize;
    let (mut dcg, mut precision_sum, mut first) = (0.0f64, 0.0f64, None);
    for (i, candidate) in list.iter().take(k).enumerate() {
        if relevant.contains(candidate) {
            hits += 1;
            let rank = i + 1;
            dcg += 1.0 / ((rank + 1) as f64).log2();
            precision_sum += hits as f64 / rank as f64;
            first.get_or_insert(rank);
        }
    }
    let ideal: f64 = (1..=relevant.len().min(k)).map(|i| 1.0 / ((i + 1) as f64).log2()).sum();
    Accuracy {
        queries: 1,
        precision: hits as f64 / k as f64,
        recall: hits as f64 / relevant.len() as f64,
        mrr: first.map_or(0.0, |r| 1.0 / r as f64),
        ndcg: if ideal > 0.0 { dcg / ideal } else { 0.0 },
        map: precision_sum / relevant.len() as f64,
        hit_rate: if hits > 0 { 1.0 } else { 0.0 },
    }
}

/// Mean of the per-query metrics over `queries` (ids with a relevant set).
pub fn accuracy<'a>(lists: &Lists, relevant: &Relevant, k: usize, queries: impl IntoIterator<Item = &'a String>) -> Accuracy {
    let empty = Vec::new();
    let mut total = Accuracy::default();
    for query in queries {
        let Some(rel) = relevant.get(query).filter(|r| !r.is_empty()) else { continue };
        let m = query_metrics(lists.get(query).unwrap_or(&empty), rel, k);
        total.queries += 1;
        total.precision += m.precision;
        total.recall += m.recall;
        total.mrr += m.mrr;
        total.ndcg += m.ndcg;
        total.map += m.map;
        total.hit_rate += m.hit_rate;
    }
    let n = total.queries.max(1) as f64;
    Accuracy {
        queries: total.queries,
        precision: total.precision / n,
        recall: total.recall / n,
        mrr: total.mrr / n,
        ndcg: total.ndcg / n,
        map: total.map / n,
        hit_rate: total.hit_rate / n,
    }
}

/// How lists spread attention over the catalogue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BeyondAccuracy {
    /// Share of partners that appear in at least one list.
    pub coverage: f64,
    /// Gini coefficient of exposure (appearances weighted 1/log2(rank+1)) over all partners:
    /// 0 even, 1 all exposure on one partner.
    pub exposure_gini: f64,
    /// Mean over lists of the mean pairwise dissimilarity of its candidates (half for a
    /// different actor type, half for a different UN sub-region).
    pub intra_list_diversity: f64,
}

/// Per-candidate exposure: Σ over lists of 1/log2(rank+1).
pub fn exposure(lists: &Lists) -> HashMap<&str, f64> {
    let mut out: HashMap<&str, f64> = HashMap::new();
    for list in lists.values() {
        for (i, candidate) in list.iter().enumerate() {
            *out.entry(candidate.as_str()).or_default() += 1.0 / ((i + 2) as f64).log2();
        }
    }
    out
}

/// Coverage, exposure Gini and intra-list diversity. `catalogue` is every partner id;
/// `kind` gives a candidate's (actor type, sub-region).
pub fn beyond_accuracy(lists: &Lists, catalogue: &[String], kind: &dyn Fn(&str) -> (String, String)) -> BeyondAccuracy {
    let exposure = exposure(lists);
    let mut values: Vec<f64> = catalogue.iter().map(|id| exposure.get(id.as_str()).copied().unwrap_or(0.0)).collect();
    let covered = values.iter().filter(|v| **v > 0.0).count();
    let mut diversity = Vec::new();
    for list in lists.values().filter(|l| l.len() > 1) {
        let kinds: Vec<(String, String)> = list.iter().map(|c| kind(c)).collect();
        let (mut sum, mut pairs) = (0.0, 0usize);
        for a in 0..kinds.len() {
            for b in a + 1..kinds.len() {
                sum += 0.5 * (kinds[a].0 != kinds[b].0) as u8 as f64 + 0.5 * (kinds[a].1 != kinds[b].1) as u8 as f64;
                pairs += 1;
            }
        }
        diversity.push(sum / pairs as f64);
    }
    BeyondAccuracy {
        coverage: covered as f64 / catalogue.len().max(1) as f64,
        exposure_gini: gini(&mut values),
        intra_list_diversity: diversity.iter().sum::<f64>() / diversity.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_query_checked_by_hand() {
        // Relevant {b, e, z}; list [a, b, c, d, e], k = 5: hits at ranks 2 and 5.
        let m = query_metrics(&list(&["a", "b", "c", "d", "e"]), &set(&["b", "e", "z"]), 5);
        assert_eq!(m.precision, 0.4);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.mrr, 0.5);
        // DCG = 1/log2(3) + 1/log2(6) = 0.63093 + 0.38685; IDCG = 1 + 0.63093 + 0.5.
        assert!((m.ndcg - (0.630_929_75 + 0.386_852_81) / (1.0 + 0.630_929_75 + 0.5)).abs() < 1e-8);
        // AP = (1/2 + 2/5) / 3.
        assert!((m.map - 0.3).abs() < 1e-12);
        assert_eq!(m.hit_rate, 1.0);
    }

    #[test]
    fn gini_checked_by_hand() {
        assert_eq!(gini(&mut [1.0, 1.0, 1.0, 1.0]), 0.0);
        // One of four holds everything: (2·4·1)/(4·1) − 5/4 = 0.75.
        assert!((gini(&mut [0.0, 0.0, 0.0, 1.0]) - 0.75).abs() < 1e-12);
        assert_eq!(gini(&mut []), 0.0);
    }

    #[test]
    fn coverage_and_diversity_checked_by_hand() {
        let lists: Lists = [("p".to_string(), list(&["a", "b"])), ("q".to_string(), list(&["a", "c"]))].into();
        let catalogue = list(&["a", "b", "c", "d"]);
        let kind = |id: &str| match id {
            "a" => ("union".to_string(), "Africa".to_string()),
            "b" => ("union".to_string(), "Asia".to_string()),
            _ => ("city".to_string(), "Asia".to_string()),
        };
        let b = beyond_accuracy(&lists, &catalogue, &kind);
        assert_eq!(b.coverage, 0.75);
        // List p: a vs b differ in region only (0.5); list q: a vs c differ in both (1.0).
        assert_eq!(b.intra_list_diversity, 0.75);
        assert!(b.exposure_gini > 0.0 && b.exposure_gini < 1.0);
    }
}
