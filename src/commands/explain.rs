//! Explain: why does candidate B stand where it does in partner A's list (or not at all)?
//!
//! Input: the matching configuration (the same flags as the run being explained, or that
//! run's own settings with `--run DIR`) and two partner ids. Output: a plain-text report: each term's raw value, weight and contribution
//! (from the same [`Scorer`] the job ranks with), every rule's verdict, the modality and
//! proposed roles, B's rank among A's admitted candidates and the gap to A's k-th score, and
//! the reason sentence; where one funds or facilitates what the other needs, the support
//! score explained the same way (terms, rank among the supporters, sentence).

use std::fmt::Write;

use crate::config::ExplainConfig;
use crate::engine::profile::Profile;
use crate::engine::rank::collector::RankProbe;
use crate::engine::rank::Hit;
use crate::engine::reference::Reference;
use crate::engine::score::Term;
use crate::engine::Engine;
use crate::error::Error;
use crate::engine::support::{Supporters, SUPPORT_TERMS, SUPPORT_WEIGHTS};
use crate::output::sentence::{reason, support_reason};
use crate::PartnerIdx;
use crate::telemetry::{Progress, StageClock};

/// Builds the report for `config.partner` and `config.candidate`.
pub fn explain(config: &ExplainConfig) -> Result<String, Error> {
    let engine = Engine::prepare(&config.matching, &mut StageClock::default(), Progress::hidden())?;
    let (profiles, features, rules) = (engine.profiles(), &engine.features, &engine.rules);
    let (a, b) = (engine.find(&config.partner)?, engine.find(&config.candidate)?);
    let reference = Reference::builtin();
    let scorer = engine.scorer();
    let e = scorer.explain(a, b);
    let (pa, pb) = (&profiles[a as usize], &profiles[b as usize]);

    let mut out = String::new();
    if let Some((run_id, digest)) = &config.run {
        let _ = writeln!(out, "settings:  run {run_id}, profiles {}", engine.source_name);
        if *digest != engine.ingested.content_digest {
            let _ = writeln!(out, "note:      the profiles changed since run {run_id}: explained with today's profiles and the run's settings");
        }
    }
    let describe = |p: &Profile, south: bool| {
        format!(
            "{} ({}): {}, {}, {}",
            p.id,
            p.name,
            reference.actor_types.id(p.actor_type as usize),
            reference.countries[p.country as usize].iso3,
            if south { "South" } else { "North" }
        )
    };
    let _ = writeln!(out, "partner:   {}", describe(pa, features.developing[a as usize]));
    let _ = writeln!(out, "candidate: {}", describe(pb, features.developing[b as usize]));
    let _ = writeln!(out, "modality:  {}", e.modality.name());
    let _ = writeln!(out, "direction: {}", e.direction.as_str());
    let themes = |set: crate::engine::profile::IdSet| {
        let ids: Vec<&str> = set.iter().map(|t| reference.themes.id(t as usize)).collect();
        if ids.is_empty() { "-".to_string() } else { ids.join(", ") }
    };
    let _ = writeln!(out, "candidate offers what partner needs: {}", themes(e.candidate_offers));
    let _ = writeln!(out, "partner offers what candidate needs: {}", themes(e.partner_offers));
    let _ = writeln!(out, "\n{:<16} {:>8} {:>8} {:>13}", "term", "raw", "weight", "contribution");
    for term in Term::ALL {
        let t = term as usize;
        let _ = writeln!(
            out,
            "{:<16} {:>8.4} {:>8.4} {:>13.4}",
            term.name(),
            e.raw[t],
            scorer.weights().0[t],
            e.contributions[t]
        );
    }
    let _ = writeln!(out, "{:<16} {:>8} {:>8} {:>13.4}", "score", "", "", e.score);

    let verdicts = rules.verdicts(features, a, b);
    let _ = writeln!(out, "\nrules:");
    for (name, admits) in &verdicts {
        let _ = writeln!(out, "  {:<16} {}", name, if *admits { "pass" } else { "FAIL" });
    }
    let removed_by = verdicts.iter().find(|(_, admits)| !admits).map(|(name, _)| *name);

    let probe = RankProbe { k: config.top_k, target: Hit { candidate: b, score: e.score } };
    let (mut fruits, stats) = engine.scan().run(&[a], &probe, &|_| {});
    let (before, top) = fruits.pop().expect("one query, one fruit").1;
    let cut_off = top.last().map(|h| h.score);
    let _ = writeln!(out);
    match removed_by {
        Some(rule) => {
            let _ = writeln!(out, "not shortlisted: removed by rule {rule}");
        }
        None => {
            let rank = before as usize + 1;
            let _ = writeln!(
                out,
                "rank {rank} of {} admitted candidates ({} the top {})",
                stats.pairs_scored,
                if rank <= config.top_k { "in" } else { "outside" },
                config.top_k
            );
        }
    }
    if let Some(cut) = cut_off {
        let _ = writeln!(
            out,
            "score of the partner's {}th candidate: {cut:.4} (this pair {:+.4})",
            config.top_k,
            e.score - cut
        );
    }
    let _ = writeln!(out, "\nreason: {}", reason(pa, pb, &e, reference));
    explain_support(&engine, a, b, &mut out);
    Ok(out)
}

/// Where one of the two funds or facilitates what the other needs: the support score term by
/// term, its rank among the partner's supporters, and the resource list's sentence.
fn explain_support(engine: &Engine, a: PartnerIdx, b: PartnerIdx, out: &mut String) {
    let (profiles, reference) = (engine.profiles(), Reference::builtin());
    let supporters = Supporters::new(profiles, &engine.features);
    for (needy, supporter) in [(a, b), (b, a)] {
        let Some(support) = supporters.support(supporter, needy) else { continue };
        let (pn, ps) = (&profiles[needy as usize], &profiles[supporter as usize]);
        let _ = writeln!(out, "\nsupport: {} as {} of what {} needs", ps.id, support.role.as_str(), pn.id);
        let _ = writeln!(out, "{:<16} {:>8} {:>8} {:>13}", "term", "raw", "weight", "contribution");
        for (t, name) in SUPPORT_TERMS.iter().enumerate() {
            let _ = writeln!(out, "{:<16} {:>8.4} {:>8.4} {:>13.4}", name, support.raw[t], SUPPORT_WEIGHTS[t], support.contributions[t]);
        }
        let _ = writeln!(out, "{:<16} {:>8} {:>8} {:>13.4}", "score", "", "", support.score);
        let admits = |s, b| engine.rules.admits_support(&engine.features, s, b);
        let ranked = supporters.resource_lists(&[needy], supporters.len(), &admits).pop().unwrap_or_default();
        match ranked.iter().position(|h| h.candidate == supporter) {
            _ if supporters.in_need(&[needy]).is_empty() => {
                let _ = writeln!(out, "not listed: {} gets no resource list (inactive, or not taking the beneficiary role)", pn.id);
            }
            Some(rank) => {
                let _ = writeln!(out, "rank {} of {} supporters of {}'s needs", rank + 1, ranked.len(), pn.id);
            }
            None => {
                let rules = engine.rules.support();
                let refused = rules.verdicts(&engine.features, supporter, needy).into_iter().chain(rules.verdicts(&engine.features, needy, supporter)).find(|(_, ok)| !ok);
                let _ = writeln!(out, "not listed: removed by rule {}", refused.map_or("?", |(name, _)| name));
            }
        }
        let _ = writeln!(out, "reason: {}", support_reason(pn, ps, &support, reference));
    }
}
