//! Groups: multi-stakeholder partnerships and city-to-city coalitions around a partner or a
//! theme.
//!
//! Input: the matching configuration, an anchor (a partner id or a theme id) and a scope (the
//! anchor's UN region, or worldwide). Output: a Markdown report with, per group kind, a
//! proposed group and whether it satisfies the rule, or which requirement cannot be met.
//!
//! Candidates are the active partners in scope that share a theme with the anchor (for a
//! theme anchor: that list it). Around a partner they are the partner's admitted candidates
//! (the rules in force), ranked by their score with it from the engine's scan; around a
//! theme, by how many of their themes are the anchor theme, then id.
//!
//! - **Multi-stakeholder partnership** (the sources' rule): a workers' organisation AND an
//!   employers' organisation AND members of at least two of the eight other groups
//!   (government, regional groups, local authorities, civil society, private sector,
//!   academia, UN, multilateral organisations). The best candidate of each required group
//!   is taken, then the best of other groups until `size` members.
//! - **City-to-city coverage** (the city study): one member for each of the seven kinds of
//!   partner it lists (authorities, social partners, city networks, international
//!   organisations, academia, local social actors, development partners); the coverage
//!   score is the share of kinds covered.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::{Anchor, ConfigError, GroupsConfig};
use crate::engine::profile::IdSet;
use crate::engine::rank::collector::AllTerms;
use crate::engine::reference::Reference;
use crate::engine::score::combine;
use crate::engine::Engine;
use crate::error::Error;
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;

/// The MSP group of an actor type: `Some(0)` workers, `Some(1)` employers, `Some(2..=9)` the
/// eight other groups, `None` for an MSP initiative itself.
fn msp_group(actor: &str) -> Option<usize> {
    Some(match actor {
        "workers_organisation" | "informal_workers_organisation" => 0,
        "employers_organisation" => 1,
        "national_government" | "parliament" => 2,
        "regional_org" => 3,
        "local_authority" | "local_development_agency" | "city_network" => 4,
        "cso_ngo" | "sse_unit" => 5,
        "private_sector" => 6,
        "academia" => 7,
        "un_agency" => 8,
        "multilateral" | "donor" => 9,
        _ => return None,
    })
}

const MSP_GROUPS: [&str; 10] = [
    "workers' organisation",
    "employers' organisation",
    "government",
    "regional group",
    "local authority",
    "civil society",
    "private sector",
    "academia",
    "UN",
    "multilateral organisation",
];

/// The city study's seven kinds of partner.
fn city_kind(actor: &str) -> Option<usize> {
    Some(match actor {
        "local_authority" | "local_development_agency" => 0,
        "workers_organisation" | "informal_workers_organisation" | "employers_organisation" => 1,
        "city_network" => 2,
        "un_agency" | "multilateral" | "regional_org" => 3,
        "academia" => 4,
        "cso_ngo" | "sse_unit" => 5,
        "donor" => 6,
        _ => return None,
    })
}

const CITY_KINDS: [&str; 7] = [
    "authorities",
    "social partners",
    "city networks",
    "international organisations",
    "academia",
    "local social actors",
    "development partners",
];

/// Runs `groups`.
pub fn run(config: &GroupsConfig) -> Result<String, Error> {
    let engine = Engine::prepare(&config.matching, &mut StageClock::default(), Progress::hidden())?;
    let features = &engine.features;
    let reference = Reference::builtin();
    let profiles = engine.profiles();
    let region_of = |i: usize| reference.countries[profiles[i].country as usize].region.clone();

    let (anchor, themes, anchor_name, region) = match &config.anchor {
        Anchor::Partner(id) => {
            let i = engine.find(id)? as usize;
            (Some(i as PartnerIdx), profiles[i].offers.union(profiles[i].needs), format!("{} ({id})", profiles[i].name), region_of(i))
        }
        Anchor::Theme(theme) => {
            let t = reference.themes.lookup(theme).ok_or_else(|| ConfigError::Flag {
                flag: "theme",
                value: theme.clone(),
                reason: format!("not a theme id; see data/vocabulary/themes.csv{}", reference.themes.suggest(theme).map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default()),
            })?;
            let mut set = IdSet::EMPTY;
            set.insert(t);
            (None, set, format!("theme {theme}"), config.region.clone().unwrap_or_default())
        }
    };
    let worldwide = config.worldwide || region.is_empty();
    let scope = if worldwide { "worldwide".to_string() } else { format!("in {region}") };

    // Scored with the anchor partner (the scan: its rules, its score), or for a theme by how
    // many of the member's themes it is.
    let shared = |i: usize| features.offers[i].union(features.needs[i]).intersection(themes);
    let scored: Vec<(f32, PartnerIdx)> = match anchor {
        Some(a) => {
            let weights = *engine.scorer().weights();
            let (mut fruits, _) = engine.scan().run(&[a], &AllTerms, &|_| {});
            fruits.pop().expect("one query, one fruit").1.into_iter().map(|(i, terms)| (combine(&weights, &terms).0, i)).collect()
        }
        None => (0..profiles.len() as PartnerIdx).filter(|&i| features.active[i as usize]).map(|i| (shared(i as usize).len() as f32, i)).collect(),
    };
    let mut candidates: Vec<(f32, PartnerIdx)> = scored
        .into_iter()
        .filter(|&(_, i)| worldwide || region_of(i as usize) == region)
        .filter(|&(_, i)| !shared(i as usize).is_empty())
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let actor_of = |i: PartnerIdx| reference.actor_types.id(profiles[i as usize].actor_type as usize);
    let describe = |i: PartnerIdx, score: f32| {
        let p = &profiles[i as usize];
        format!("{} ({}, {}, {}) score {score:.3}", p.name, p.id, actor_of(i), reference.countries[p.country as usize].iso3)
    };

    let mut out = format!("Groups around {anchor_name}, {scope}: {} candidates share a theme.\n", candidates.len());

    // Multi-stakeholder partnership.
    let mut best: BTreeMap<usize, (f32, PartnerIdx)> = BTreeMap::new();
    for &(score, i) in &candidates {
        if let Some(g) = msp_group(actor_of(i)) {
            best.entry(g).or_insert((score, i));
        }
    }
    let _ = writeln!(out, "\n## Multi-stakeholder partnership\n");
    let mut missing = Vec::new();
    for required in [0, 1] {
        if !best.contains_key(&required) {
            missing.push(format!("no {} sharing a theme {scope}", MSP_GROUPS[required]));
        }
    }
    let others: Vec<usize> = best.keys().copied().filter(|g| *g >= 2).collect();
    if others.len() < 2 {
        missing.push(format!("members of only {} of the eight other groups {scope} (two are needed)", others.len()));
    }
    if missing.is_empty() {
        let mut members: Vec<(usize, (f32, PartnerIdx))> = vec![(0, best[&0]), (1, best[&1])];
        let mut rest: Vec<(usize, (f32, PartnerIdx))> = others.iter().map(|g| (*g, best[g])).collect();
        rest.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(&b.0)));
        members.extend(rest.into_iter().take(config.size.saturating_sub(2).max(2)));
        let mean = members.iter().map(|m| m.1 .0).sum::<f32>() / members.len() as f32;
        let _ = writeln!(out, "Valid: a workers' organisation, an employers' organisation and {} other groups (mean score {mean:.3}).", members.len() - 2);
        for (g, (score, i)) in members {
            let _ = writeln!(out, "- {}: {}", MSP_GROUPS[g], describe(i, score));
        }
    } else {
        let _ = writeln!(out, "No valid group: {}.", missing.join("; "));
    }

    // City-to-city coverage.
    let mut kinds: BTreeMap<usize, (f32, PartnerIdx)> = BTreeMap::new();
    for &(score, i) in &candidates {
        if let Some(k) = city_kind(actor_of(i)) {
            kinds.entry(k).or_insert((score, i));
        }
    }
    let _ = writeln!(out, "\n## City-to-city coalition\n");
    let _ = writeln!(out, "Coverage {}/7 = {:.2} of the city study's kinds of partner.", kinds.len(), kinds.len() as f64 / 7.0);
    for (k, name) in CITY_KINDS.iter().enumerate() {
        match kinds.get(&k) {
            Some((score, i)) => {
                let _ = writeln!(out, "- {name}: {}", describe(*i, *score));
            }
            None => {
                let _ = writeln!(out, "- {name}: none sharing a theme {scope}");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_actor_type_has_its_groups() {
        let r = Reference::builtin();
        for id in r.actor_types.ids() {
            assert!(msp_group(id).is_some() || id == "msp_initiative", "{id}");
        }
        assert_eq!(msp_group("workers_organisation"), Some(0));
        assert_eq!(msp_group("employers_organisation"), Some(1));
        assert_eq!(city_kind("city_network"), Some(2));
    }
}
