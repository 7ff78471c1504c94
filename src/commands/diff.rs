//! Diff: what changed between two runs, and which settings explain it.
//!
//! Input: two output directories of finished runs (their `manifest.json`, `shortlist.csv`
//! and `centroids.json`). Output: a Markdown report: configuration and weight changes from
//! the manifests, partners added or dropped, candidates entering or leaving each list, the
//! largest rank moves, and cluster churn with clusters aligned by their centroids (each new
//! cluster is matched to the nearest old one, one to one, closest pairs first), so that
//! relabelled but unchanged clusters do not count as churn.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use ndarray::Array2;
use serde_json::Value;

use crate::engine::cluster::align;
use crate::error::Error;
use crate::io::run_dir::{Lists, RunDir};

/// One run as `diff` sees it.
struct Run {
    manifest: Value,
    lists: Lists,
    /// partner → cluster
    clusters: BTreeMap<String, u32>,
    /// id → name, of every partner and candidate listed
    names: BTreeMap<String, String>,
    centroids: Option<Array2<f32>>,
}

fn load(dir: &Path) -> Result<Run, Error> {
    let run = RunDir::open(dir)?;
    let (lists, clusters) = run.lists()?;
    let centroids = run.centroids()?.map(|(model, _)| model.centroids);
    Ok(Run {
        // Through the JSON text: a value straight from the typed manifest would widen f32
        // settings (0.1 → 0.10000000149011612).
        manifest: serde_json::from_str(&serde_json::to_string(&run.manifest).expect("a manifest serialises")).expect("JSON it wrote parses"),
        lists,
        clusters,
        names: run.names()?,
        centroids,
    })
}

/// Each partner's list, keyed by any kind of text (a finished run's owned ids, or ids
/// borrowed from tonight's rows).
pub type ListsOf<K> = BTreeMap<K, BTreeMap<K, u32>>;

/// How two nights' lists differ.
pub struct Churn<'a> {
    /// Partners with a list on both nights.
    pub compared: usize,
    /// Of those, lists that changed (a candidate entered, left or moved).
    pub changed: usize,
    /// Candidates that entered a list.
    pub entered: usize,
    /// Candidates that left a list.
    pub left: usize,
    /// Partners with a list tonight only.
    pub added: Vec<&'a str>,
    /// Partners with a list last night only.
    pub dropped: Vec<&'a str>,
    /// Candidates in + out per compared list, most first.
    pub most_changed: Vec<(usize, &'a str)>,
}

/// Compares two nights' lists.
pub fn churn<'a, A: Borrow<str> + Ord, B: Borrow<str> + Ord>(old: &'a ListsOf<A>, new: &'a ListsOf<B>) -> Churn<'a> {
    let old_partners: BTreeSet<&str> = old.keys().map(Borrow::borrow).collect();
    let new_partners: BTreeSet<&str> = new.keys().map(Borrow::borrow).collect();
    let mut churn = Churn {
        compared: 0,
        changed: 0,
        entered: 0,
        left: 0,
        added: new_partners.difference(&old_partners).copied().collect(),
        dropped: old_partners.difference(&new_partners).copied().collect(),
        most_changed: Vec::new(),
    };
    for &partner in old_partners.intersection(&new_partners) {
        let (a, b) = (&old[partner], &new[partner]);
        let inn = b.keys().filter(|c| !a.contains_key((*c).borrow())).count();
        let out = a.keys().filter(|c| !b.contains_key((*c).borrow())).count();
        churn.compared += 1;
        churn.entered += inn;
        churn.left += out;
        if inn + out > 0 || a.iter().any(|(c, rank)| b.get(c.borrow()) != Some(rank)) {
            churn.changed += 1;
        }
        churn.most_changed.push((inn + out, partner));
    }
    churn.most_changed.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    churn
}

/// Rank moves of candidates on both nights' lists (distance, partner, candidate, old rank,
/// new rank), largest first.
fn rank_moves<'a>(old: &'a Lists, new: &'a Lists) -> Vec<(u32, &'a String, &'a String, u32, u32)> {
    let mut moves = Vec::new();
    for (partner, a) in old {
        let Some(b) = new.get(partner) else { continue };
        for (candidate, &r_old) in a {
            if let Some(&r_new) = b.get(candidate) {
                moves.push((r_old.abs_diff(r_new), partner, candidate, r_old, r_new));
            }
        }
    }
    moves.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(b.2)));
    moves
}

/// Flattens a JSON object into `a.b.c → value` pairs.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Builds the report comparing `old` to `new`.
pub fn diff(old_dir: &Path, new_dir: &Path) -> Result<String, Error> {
    let (old, new) = (load(old_dir)?, load(new_dir)?);
    let mut out = String::new();
    let get = |run: &Run, key: &str| run.manifest.pointer(key).map(|v| v.to_string()).unwrap_or_default();
    let _ = writeln!(out, "old: {} run {} ({})", old_dir.display(), get(&old, "/run_id"), get(&old, "/started_at"));
    let _ = writeln!(out, "new: {} run {} ({})", new_dir.display(), get(&new, "/run_id"), get(&new, "/started_at"));

    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    for (run, map) in [(&old, &mut before), (&new, &mut after)] {
        for section in ["config", "input", "version"] {
            if let Some(value) = run.manifest.get(section) {
                flatten(section, value, map);
            }
        }
    }
    let ignore = ["config.threads", "input.path", "config.matching.profiles", "config.out", "config.model_dir", "config.export_matrices", "config.settings"];
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changes: Vec<String> = keys
        .into_iter()
        .filter(|k| !ignore.iter().any(|i| k.as_str() == *i || k.starts_with(&format!("{i}."))) && before.get(*k) != after.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "–".into());
            format!("| {k} | {} | {} |", show(before.get(k)), show(after.get(k)))
        })
        .collect();
    let _ = writeln!(out, "\n## What changed in the settings and input\n");
    if changes.is_empty() {
        let _ = writeln!(out, "Nothing: same input content, configuration and version.");
    } else {
        let _ = writeln!(out, "| setting | old | new |\n|---|---|---|\n{}", changes.join("\n"));
    }

    let churn = churn(&old.lists, &new.lists);
    let _ = writeln!(out, "\n## Partners with a list\n");
    let _ = writeln!(
        out,
        "{} old, {} new; added {}, dropped {}",
        old.lists.len(),
        new.lists.len(),
        churn.added.len(),
        churn.dropped.len()
    );
    let sample = |items: &[&str]| items.iter().take(10).copied().collect::<Vec<_>>().join(", ");
    if !churn.added.is_empty() {
        let _ = writeln!(out, "added: {}{}", sample(&churn.added), if churn.added.len() > 10 { ", …" } else { "" });
    }
    if !churn.dropped.is_empty() {
        let _ = writeln!(out, "dropped: {}{}", sample(&churn.dropped), if churn.dropped.len() > 10 { ", …" } else { "" });
    }

    let _ = writeln!(out, "\n## Candidates\n");
    let _ = writeln!(
        out,
        "{} of {} lists changed; {} candidates entered and {} left.",
        churn.changed, churn.compared, churn.entered, churn.left
    );
    // A name from tonight's run, else last night's (a partner that left).
    let name = |id: &str| new.names.get(id).or_else(|| old.names.get(id)).map_or("", String::as_str).to_string();
    let top: Vec<String> = churn.most_changed.iter().filter(|c| c.0 > 0).take(10).map(|(n, p)| format!("{p} {} ({n})", name(p))).collect();
    if !top.is_empty() {
        let _ = writeln!(out, "Most changed lists (candidates in + out): {}", top.join(", "));
    }
    let moves: Vec<String> = rank_moves(&old.lists, &new.lists)
        .iter()
        .filter(|m| m.0 > 0)
        .take(10)
        .map(|(_, p, c, a, b)| format!("| {p} | {} | {c} | {} | {a} | {b} |", name(p), name(c)))
        .collect();
    if !moves.is_empty() {
        let _ = writeln!(out, "\nLargest rank moves:\n\n| partner | name | candidate | name | old rank | new rank |\n|---|---|---|---|---|---|\n{}", moves.join("\n"));
    }

    let _ = writeln!(out, "\n## Clusters\n");
    match (&old.centroids, &new.centroids) {
        (Some(a), Some(b)) => {
            let mapping = align(a.view(), b.view());
            let common: Vec<&String> = old.clusters.keys().filter(|p| new.clusters.contains_key(*p)).collect();
            let moved = common
                .iter()
                .filter(|p| mapping.get(&(new.clusters[**p] as usize)) != Some(&(old.clusters[**p] as usize)))
                .count();
            let relabelled = mapping.iter().filter(|(n, o)| n != o).count();
            let _ = writeln!(
                out,
                "{} old and {} new clusters, aligned by centroid ({relabelled} relabelled); {moved} of {} partners ({:.1} %) changed cluster.",
                a.nrows(),
                b.nrows(),
                common.len(),
                100.0 * moved as f64 / common.len().max(1) as f64
            );
        }
        _ => {
            let _ = writeln!(out, "One of the runs has no centroids.json: clusters not compared.");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_follows_centroids_not_labels() {
        let old = ndarray::arr2(&[[0.0, 0.0], [10.0, 10.0], [0.0, 10.0]]);
        let new = ndarray::arr2(&[[10.0, 9.0], [0.1, 10.0], [0.0, 0.5]]);
        let mapping = align(old.view(), new.view());
        assert_eq!(mapping, BTreeMap::from([(0, 1), (1, 2), (2, 0)]));
    }
}
