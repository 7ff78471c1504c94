//! Sensitivity: which weight matters? Each weight is moved by ±δ and the lists compared.
//!
//! Input: profiles and matching settings (the weighting to probe), δ, k. Output: per term and
//! direction, the mean overlap@k of the perturbed lists with the base lists, and the mean
//! Kendall rank correlation of the candidates both lists share (1 = same order).

use std::fmt::Write;

use super::metrics::Lists;
use super::raw::RawTable;
use crate::config::SensitivityConfig;
use crate::error::Error;
use crate::engine::{spread, Engine};
use crate::telemetry::StageClock;
use crate::engine::score::{Term, Weights};
use crate::telemetry::Progress;


/// Kendall's tau between the orders of the items two lists share (None below two).
pub fn kendall_tau(a: &[String], b: &[String]) -> Option<f64> {
    let shared: Vec<(usize, usize)> = a
        .iter()
        .enumerate()
        .filter_map(|(i, x)| b.iter().position(|y| y == x).map(|j| (i, j)))
        .collect();
    let n = shared.len();
    if n < 2 {
        return None;
    }
    let mut score = 0i64;
    for x in 0..n {
        for y in x + 1..n {
            let (da, db) = (shared[x].0 as i64 - shared[y].0 as i64, shared[x].1 as i64 - shared[y].1 as i64);
            score += (da * db).signum();
        }
    }
    Some(score as f64 / (n * (n - 1) / 2) as f64)
}

fn compare(base: &Lists, other: &Lists, k: usize) -> (f64, f64) {
    let (mut overlap, mut tau, mut lists, mut correlated) = (0.0, 0.0, 0usize, 0usize);
    for (partner, list) in base.iter().filter(|(_, l)| !l.is_empty()) {
        let perturbed = &other[partner];
        overlap += list.iter().filter(|c| perturbed.contains(c)).count() as f64 / k.min(list.len()) as f64;
        lists += 1;
        if let Some(t) = kendall_tau(list, perturbed) {
            tau += t;
            correlated += 1;
        }
    }
    (overlap / lists.max(1) as f64, tau / correlated.max(1) as f64)
}

/// Runs `sensitivity`.
pub fn run(config: &SensitivityConfig) -> Result<String, Error> {

    let engine = Engine::prepare(&config.matching, &mut StageClock::default(), Progress::hidden())?;
    let profiles = engine.profiles();
    let active = engine.active();
    let partners = match config.sample {
        Some(n) => spread(&active, n),
        None => active,
    };
    let table = RawTable::build(&engine, &partners);
    let weights = config.matching.weights;
    let base = table.lists(&weights, config.top_k, profiles);
    let mut out = format!(
        "{} partners, top {}, each weight moved by ±{}; overlap@{} with the base lists and Kendall tau of the shared candidates\n\n",
        partners.len(),
        config.top_k,
        config.delta,
        config.top_k
    );
    let _ = writeln!(out, "| term | weight | −δ overlap | −δ tau | +δ overlap | +δ tau |\n|---|---|---|---|---|---|");
    for term in Term::ALL {
        let t = term as usize;
        let mut cells = Vec::new();
        for sign in [-1.0f32, 1.0] {
            let mut moved = weights.0;
            moved[t] = (moved[t] + sign * config.delta).max(0.0);
            if moved.iter().all(|&w| w == 0.0) {
                cells.push("– | –".to_string());
                continue;
            }
            let (overlap, tau) = compare(&base, &table.lists(&Weights(moved), config.top_k, profiles), config.top_k);
            cells.push(format!("{overlap:.3} | {tau:.3}"));
        }
        let _ = writeln!(out, "| {} | {:.3} | {} |", term.name(), weights.0[t], cells.join(" | "));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kendall_tau_checked_by_hand() {
        assert_eq!(kendall_tau(&ids(&["a", "b", "c"]), &ids(&["a", "b", "c"])), Some(1.0));
        assert_eq!(kendall_tau(&ids(&["a", "b", "c"]), &ids(&["c", "b", "a"])), Some(-1.0));
        // Shared a, b, c; one of three pairs swapped: (2 − 1) / 3.
        assert!((kendall_tau(&ids(&["a", "b", "c", "x"]), &ids(&["b", "a", "c", "y"])).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(kendall_tau(&ids(&["a"]), &ids(&["a"])), None);
    }
}
