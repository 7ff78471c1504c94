//! Evaluate: how good is a weighting against known partnerships?
//!
//! Input: a table of known partnerships (`source_id`, `target_id`, optional `modality`,
//! `directed`) and either a finished run (`--run DIR`: its shortlist) or profiles and
//! matching settings (lists computed here, for the engine and for a plain baseline, cosine
//! similarity of the dense feature rows). Output: an [`Evaluation`] rendered as Markdown:
//! accuracy ([`metrics::Accuracy`]) and beyond-accuracy figures overall, found-in-top-k per
//! modality of the known pair, and recall and nDCG per region and actor type of the partner;
//! then the known triangular partnerships found where a run proposes them ([`triangular`]):
//! the pair lists, the resource lists and the triads.
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

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::config::{EvaluateConfig, Evaluated};
use crate::engine::features::{PartnerFeatures, DENSE_WIDTH};
use crate::engine::profile::Profile;
use crate::engine::rank::top_k::{Hit, TopK};
use crate::engine::support::{is_proposal, Supporters};
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

/// Where known partnerships can be found: the unordered pairs of partners a source proposes
/// together.
pub struct Found {
    /// Shown in the table.
    pub name: String,
    pairs: HashSet<(String, String)>,
}

impl Found {
    /// Nothing found yet.
    pub fn new(name: &str) -> Found {
        Found { name: name.into(), pairs: HashSet::new() }
    }

    /// Records that `a` and `b` are proposed together.
    pub fn add(&mut self, a: &str, b: &str) {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        self.pairs.insert((x.to_string(), y.to_string()));
    }

    /// Whether `a` and `b` are proposed together.
    pub fn contains(&self, a: &str, b: &str) -> bool {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        self.pairs.contains(&(x.to_string(), y.to_string()))
    }

    /// The pairs of every list's first `k`.
    pub fn in_lists(name: &str, lists: &Lists, k: usize) -> Found {
        let mut found = Found::new(name);
        for (partner, list) in lists {
            list.iter().take(k).for_each(|candidate| found.add(partner, candidate));
        }
        found
    }

    /// The pairs any of `sources` proposes.
    pub fn any(name: &str, sources: &[Found]) -> Found {
        Found { name: name.into(), pairs: sources.iter().flat_map(|s| s.pairs.iter().cloned()).collect() }
    }
}

/// The triangular section: of the known partnerships whose modality is triangular, how many
/// each source proposes (in either side's first k, or together in a triad).
pub fn triangular(known: &Known, sources: &[Found]) -> String {
    let pairs: Vec<&KnownPair> = known.pairs.iter().filter(|p| p.modality == "triangular").collect();
    let mut out = String::new();
    if pairs.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nKnown triangular partnerships ({}) found, by where the run proposes them:\n\n| source | found | share |\n|---|---|---|", pairs.len());
    for source in sources {
        let found = pairs.iter().filter(|p| source.contains(&p.source, &p.target)).count();
        let _ = writeln!(out, "| {} | {found} | {:.3} |", source.name, found as f64 / pairs.len() as f64);
    }
    out
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
            let run = RunDir::open(dir)?;
            let (lists, kinds) = run_lists(&run, reference)?;
            let catalogue: Vec<String> = kinds.keys().cloned().collect();
            let known = Known::load(&config.known, &|id| kinds.contains_key(id))?;
            // A donor's support proposal proposes it with the provider as well.
            let mut shortlists = Found::in_lists("shortlists", &lists, config.k);
            for row in run.shortlist()?.rows()?.iter().filter(|r| r.rank as usize <= config.k && is_proposal(r.direction)) {
                row.provider_id.into_iter().for_each(|provider| shortlists.add(row.partner_id, provider));
            }
            let mut sources = vec![shortlists];
            if let Some(resources) = run.resources()? {
                let mut found = Found::new("resource lists");
                resources.rows()?.iter().filter(|r| r.rank as usize <= config.k).for_each(|r| found.add(r.partner_id, r.candidate_id));
                sources.push(found);
            }
            if let Some(triads) = run.triads()? {
                let mut found = Found::new("triads");
                for t in triads.rows()? {
                    for (a, b) in [(&t.beneficiary, &t.provider), (&t.beneficiary, &t.third), (&t.provider, &t.third)] {
                        found.add(a.id, b.id);
                    }
                }
                sources.push(found);
            }
            sources.push(Found::any("any of these", &sources));
            let method = Method {
                name: format!("run {}", dir.display()),
                lists,
            };
            let mut evaluation = evaluate(&[method], &known, config.k, &catalogue, &kinds);
            evaluation.report.push_str(&triangular(&known, &sources));
            return Ok(evaluation);
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
    let mut evaluation = evaluate(&methods, &known, config.k, &catalogue, &kinds_of(profiles, reference));
    let supporters = Supporters::new(profiles, &engine.features);
    let needy = supporters.in_need(&active);
    let admits = |s, b| engine.rules.admits_support(&engine.features, s, b);
    let mut resources = Found::new("engine: resource lists");
    for (&b, list) in needy.iter().zip(supporters.resource_lists(&needy, config.k, &admits)) {
        list.iter().for_each(|h| resources.add(&profiles[b as usize].id, &profiles[h.candidate as usize].id));
    }
    let mut sources = vec![Found::in_lists("engine: pair lists", &methods[0].lists, config.k), resources];
    sources.push(Found::any("engine: either", &sources));
    sources.push(Found::in_lists("baseline (cosine): pair lists", &methods[1].lists, config.k));
    evaluation.report.push_str(&triangular(&known, &sources));
    Ok(evaluation)
}
