//! Evaluate: how good is a weighting against known partnerships?
//!
//! Input: a table of known partnerships (`source_id`, `target_id`, optional `modality`,
//! `directed`) and either a finished run (`--run DIR`: its shortlist) or profiles and
//! matching settings (lists computed here, for the engine and for a plain baseline, cosine
//! similarity of the dense feature rows). Output: an [`Evaluation`] rendered as Markdown:
//! accuracy ([`metrics::Accuracy`]) and beyond-accuracy figures overall, found-in-top-k per
//! modality of the known pair, and recall and nDCG per region and actor type of the partner.
//!
//! A known pair (a, b) makes a relevant b for query a and a relevant a for query b: a
//! partnership is a good match for both sides.
//!
//! **Leakage:** known partnerships are read only here, after features are built from the
//! profile table; they never enter features, rarity weights or rules. `tune` (in [`tune`])
//! chooses weights on some folds of the known pairs and reports the others.

pub mod metrics;
pub mod raw;
pub mod sensitivity;
pub mod tune;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::config::{EvaluateConfig, Evaluated};
use crate::engine::features::{PartnerFeatures, DENSE_WIDTH};
use crate::engine::profile::Profile;
use crate::engine::rank::top_k::{Hit, TopK};
use crate::engine::reference::Reference;
use crate::engine::Engine;
use crate::error::Error;
use crate::io::pairs::{read_pairs, PairTable, PairTableError};
use crate::io::run_dir::RunDir;
use crate::io::table::TableSource;
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;
use metrics::{accuracy, beyond_accuracy, Accuracy, BeyondAccuracy, Lists, Relevant};
use raw::RawTable;

/// One known partnership.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownPair {
    /// One side.
    pub source: String,
    /// The other side.
    pub target: String,
    /// The modality the source gives, or "unspecified".
    pub modality: String,
}

/// The known partnerships that name two known partners, and the rows that do not.
pub struct Known {
    /// Usable pairs.
    pub pairs: Vec<KnownPair>,
    /// 1-based rows naming a partner that is not among the partners (counted, never dropped
    /// silently).
    pub unknown_rows: Vec<usize>,
}

impl Known {
    /// Reads the table, keeping pairs whose two ids satisfy `exists`.
    pub fn load(path: &Path, exists: &dyn Fn(&str) -> bool) -> Result<Known, PairTableError> {
        let (rows, _) = read_pairs(&TableSource::File(path.to_path_buf()), PairTable::Known)?;
        let mut known = Known {
            pairs: Vec::new(),
            unknown_rows: Vec::new(),
        };
        for row in rows {
            if row.source != row.target && exists(&row.source) && exists(&row.target) {
                known.pairs.push(KnownPair {
                    source: row.source,
                    target: row.target,
                    modality: row.modality.unwrap_or_else(|| "unspecified".into()),
                });
            } else {
                known.unknown_rows.push(row.row);
            }
        }
        Ok(known)
    }

    /// Query → relevant partners, both directions of every pair.
    pub fn relevant(&self) -> Relevant {
        let mut relevant = Relevant::new();
        for pair in &self.pairs {
            relevant.entry(pair.source.clone()).or_default().insert(pair.target.clone());
            relevant.entry(pair.target.clone()).or_default().insert(pair.source.clone());
        }
        relevant
    }
}

/// What is known about a partner for grouping figures.
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerKind {
    /// Actor type id.
    pub actor_type: String,
    /// UN M49 sub-region.
    pub sub_region: String,
}

/// Lists to evaluate, with what the evaluation needs to know about partners.
pub struct Method {
    /// Shown in tables.
    pub name: String,
    /// Partner id → ranked candidate ids.
    pub lists: Lists,
}

/// A rendered evaluation.
pub struct Evaluation {
    /// The Markdown report.
    pub report: String,
    /// Overall accuracy per method, in method order.
    pub accuracy: Vec<Accuracy>,
    /// Beyond-accuracy per method.
    pub beyond: Vec<BeyondAccuracy>,
}

/// Share of pair directions (a → b and b → a) whose other side is in the top k.
fn pairs_found(lists: &Lists, pairs: &[&KnownPair], k: usize) -> f64 {
    let found = pairs
        .iter()
        .flat_map(|p| [(&p.source, &p.target), (&p.target, &p.source)])
        .filter(|(q, t)| lists.get(*q).is_some_and(|l| l.iter().take(k).any(|c| c == *t)))
        .count();
    found as f64 / (2 * pairs.len()).max(1) as f64
}

/// Evaluates every method on the same known pairs and renders the report.
pub fn evaluate(
    methods: &[Method],
    known: &Known,
    k: usize,
    catalogue: &[String],
    kinds: &BTreeMap<String, PartnerKind>,
) -> Evaluation {
    let relevant = known.relevant();
    let queries: Vec<&String> = relevant.keys().collect();
    let kind_of = |id: &str| {
        kinds
            .get(id)
            .map(|k| (k.actor_type.clone(), k.sub_region.clone()))
            .unwrap_or_else(|| ("(unknown)".into(), "(unknown)".into()))
    };
    let accuracies: Vec<Accuracy> = methods.iter().map(|m| accuracy(&m.lists, &relevant, k, queries.iter().copied())).collect();
    let beyond: Vec<BeyondAccuracy> = methods.iter().map(|m| beyond_accuracy(&m.lists, catalogue, &kind_of)).collect();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} partners, {} known partnerships, {} queries (partners with a known partner), k = {k}",
        catalogue.len(),
        known.pairs.len(),
        accuracies.first().map_or(0, |a| a.queries)
    );
    if !known.unknown_rows.is_empty() {
        let _ = writeln!(
            out,
            "warning: {} known-partnership rows name a partner that is not among the partners (rows {:?}); they are left out",
            known.unknown_rows.len(),
            known.unknown_rows
        );
    }
    let all_pairs: Vec<&KnownPair> = known.pairs.iter().collect();
    let _ = writeln!(
        out,
        "\n| method | P@{k} | R@{k} | MRR@{k} | nDCG@{k} | MAP@{k} | hit rate | pairs found | coverage | exposure Gini | diversity |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for ((m, a), b) in methods.iter().zip(&accuracies).zip(&beyond) {
        let _ = writeln!(
            out,
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            m.name,
            a.precision,
            a.recall,
            a.mrr,
            a.ndcg,
            a.map,
            a.hit_rate,
            pairs_found(&m.lists, &all_pairs, k),
            b.coverage,
            b.exposure_gini,
            b.intra_list_diversity
        );
    }

    let header = |out: &mut String, what: &str, columns: &str| {
        let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
        let _ = writeln!(out, "\n{what}\n\n| group | n | {} |", names.iter().map(|n| format!("{n} {columns}")).collect::<Vec<_>>().join(" | "));
        let _ = writeln!(out, "|---|---|{}", "---|".repeat(methods.len()));
    };
    header(&mut out, &format!("Pair directions found in the top {k}, by the modality of the known partnership:"), "found");
    let mut by_modality: BTreeMap<&str, Vec<&KnownPair>> = BTreeMap::new();
    for pair in &known.pairs {
        by_modality.entry(pair.modality.as_str()).or_default().push(pair);
    }
    for (modality, pairs) in &by_modality {
        let cells: Vec<String> = methods.iter().map(|m| format!("{:.3}", pairs_found(&m.lists, pairs, k))).collect();
        let _ = writeln!(out, "| {modality} | {} | {} |", pairs.len(), cells.join(" | "));
    }
    for (what, key) in [("UN sub-region", 0), ("actor type", 1)] {
        header(&mut out, &format!("Recall@{k} / nDCG@{k} by {what} of the partner:"), "R / nDCG");
        let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for query in &queries {
            let (actor, region) = kind_of(query);
            groups.entry(if key == 0 { region } else { actor }).or_default().push(query);
        }
        for (group, members) in &groups {
            let cells: Vec<String> = methods
                .iter()
                .map(|m| {
                    let a = accuracy(&m.lists, &relevant, k, members.iter().copied());
                    format!("{:.3} / {:.3}", a.recall, a.ndcg)
                })
                .collect();
            let _ = writeln!(out, "| {group} | {} | {} |", members.len(), cells.join(" | "));
        }
    }
    Evaluation {
        report: out,
        accuracy: accuracies,
        beyond,
    }
}

/// The baseline's top-k lists: cosine similarity of the dense feature rows over every other
/// active partner.
pub fn cosine_lists(f: &PartnerFeatures, queries: &[PartnerIdx], k: usize, profiles: &[Profile]) -> Lists {
    let rows: Vec<Vec<f32>> = (0..f.len() as PartnerIdx)
        .map(|i| {
            let mut row = vec![0.0; DENSE_WIDTH];
            f.dense_row(i, &mut row);
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            row.iter_mut().for_each(|v| *v /= norm);
            row
        })
        .collect();
    queries
        .par_iter()
        .map(|&q| {
            let mut top = TopK::new(k);
            for c in (0..f.len() as PartnerIdx).filter(|&c| c != q && f.active[c as usize]) {
                let score = rows[q as usize].iter().zip(&rows[c as usize]).map(|(a, b)| a * b).sum();
                top.push(Hit { candidate: c, score });
            }
            let ids = top.into_sorted().iter().map(|h| profiles[h.candidate as usize].id.clone()).collect();
            (profiles[q as usize].id.clone(), ids)
        })
        .collect()
}

/// Partner kinds of valid profiles.
pub fn kinds_of(profiles: &[Profile], reference: &Reference) -> BTreeMap<String, PartnerKind> {
    profiles
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                PartnerKind {
                    actor_type: reference.actor_types.id(p.actor_type as usize).to_string(),
                    sub_region: reference.sub_regions[reference.countries[p.country as usize].sub_region as usize].clone(),
                },
            )
        })
        .collect()
}

/// A run's lists, and what its shortlist says about the partners in it.
pub fn run_lists(run: &RunDir, reference: &Reference) -> Result<(Lists, BTreeMap<String, PartnerKind>), Error> {
    let mut ranked: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    let mut kinds = BTreeMap::new();
    let region = |iso3: &str| {
        reference
            .country(iso3)
            .map(|c| reference.sub_regions[reference.countries[c as usize].sub_region as usize].clone())
            .unwrap_or_else(|| "(unknown)".into())
    };
    for row in run.shortlist()?.rows()? {
        for (id, country, actor) in [(&row.partner_id, &row.partner_country, &row.partner_actor_type), (&row.candidate_id, &row.candidate_country, &row.candidate_actor_type)] {
            kinds.entry(id.to_string()).or_insert_with(|| PartnerKind {
                actor_type: actor.to_string(),
                sub_region: region(country),
            });
        }
        ranked.entry(row.partner_id.to_string()).or_default().push((row.rank, row.candidate_id.to_string()));
    }
    let lists = ranked
        .into_iter()
        .map(|(p, mut items)| {
            items.sort();
            (p, items.into_iter().map(|(_, c)| c).collect())
        })
        .collect();
    Ok((lists, kinds))
}

/// Runs `evaluate`.
pub fn run(config: &EvaluateConfig) -> Result<Evaluation, Error> {
    let reference = Reference::builtin();
    let matching = match &config.evaluated {
        Evaluated::Matching(matching) => matching,
        Evaluated::Run(dir) => {
            let (lists, kinds) = run_lists(&RunDir::open(dir)?, reference)?;
            let catalogue: Vec<String> = kinds.keys().cloned().collect();
            let known = Known::load(&config.known, &|id| kinds.contains_key(id))?;
            let method = Method {
                name: format!("run {}", dir.display()),
                lists,
            };
            return Ok(evaluate(&[method], &known, config.k, &catalogue, &kinds));
        }
    };
    let engine = Engine::prepare(matching, &mut StageClock::default(), Progress::hidden())?;
    let profiles = engine.profiles();
    let known = Known::load(&config.known, &|id| engine.index_of(id).is_some())?;
    let active = engine.active();
    let lists = RawTable::build(&engine, &active).lists(&matching.weights, config.k, profiles);
    let methods = [
        Method {
            name: "engine".into(),
            lists,
        },
        Method {
            name: "baseline (cosine)".into(),
            lists: cosine_lists(&engine.features, &active, config.k, profiles),
        },
    ];
    let catalogue: Vec<String> = profiles.iter().map(|p| p.id.clone()).collect();
    Ok(evaluate(&methods, &known, config.k, &catalogue, &kinds_of(profiles, reference)))
}
