//! `merge`: a sharded night's shard directories → the run one machine would publish.
//!
//! Input: a checked [`MergeConfig`] (the shard directories of `run --shard I/N`, the output
//! directory). Output: the published run directory and its [`RunManifest`], whose files are
//! byte for byte those of `run` on one machine (the timings and the counters of exact mode's
//! scan aside: shards score each pair from both sides).
//!
//! ```text
//! open the shards → check: one of each index 0..N, one run id (input, settings, version)
//! → prepare the engine on the same profiles and settings files (the profiles' content
//! digest and every settings file's sha256 checked against the shards') → read every shard's
//! pools and resource lists into the night's order → the rest of `run` (recall, cluster,
//! re-rank, triads, proposals, output, changes against the shards' previous run, manifest,
//! publish)
//! ```
//!
//! Only the lists are sharded; what needs every list at once (the exposure figures, the
//! re-ranking's inputs, triads granted within limits per third, each donor's proposals) is
//! done here, on the merged lists.

use rayon::prelude::*;
use tracing::info;

use crate::commands::run::{self, Night, Ranked};
use crate::config::{MergeConfig, RunConfig};
use crate::engine::profile;
use crate::engine::rank::{Hit, RankStats, Shortlist};
use crate::engine::shard::Shard;
use crate::engine::support::Supporters;
use crate::engine::Engine;
use crate::error::Error;
use crate::io::manifest::{RunManifest, ShardRecord};
use crate::io::postgresql::sink::Sink;
use crate::io::shard::{ShardDir, ShardManifest, POOLS, RESOURCE_LISTS};
use crate::output::{shortlist, Destinations};
use crate::telemetry::Progress;
use crate::PartnerIdx;

/// Why a set of shard directories cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Shards of different nights or settings.
    #[error("{dir} (shard {shard}) does not belong with {first}: its {what} differs ({found} against {expected}); rerun it with the night's input, flags and sstc-match version")]
    Mismatch {
        /// The odd shard's directory.
        dir: String,
        /// Its shard.
        shard: String,
        /// The first shard's directory.
        first: String,
        /// What differs.
        what: &'static str,
        /// Its value there.
        found: String,
        /// The first shard's value.
        expected: String,
    },
    /// The same shard given twice.
    #[error("shard {shard} is given twice: {first} and {second}; give each shard's directory once")]
    Twice {
        /// The shard.
        shard: String,
        /// One directory.
        first: String,
        /// The other.
        second: String,
    },
    /// Shards missing.
    #[error("the night has {count} shards but {missing} {are} missing; run them (`run --shard I/{count}`) and merge again: an incomplete night is never published")]
    Missing {
        /// Shards in the night.
        count: u32,
        /// The missing ones, as I/N.
        missing: String,
        /// "is" or "are".
        are: &'static str,
    },
    /// The profiles changed between the shards and the merge.
    #[error("{table}: the profiles changed since the shards ran (content digest {found}, the shards' {expected}); rerun the shards on tonight's profiles")]
    InputChanged {
        /// The profile table.
        table: String,
        /// Its digest now.
        found: String,
        /// The shards' digest.
        expected: String,
    },
    /// The merge runs another version of sstc-match than the shards did.
    #[error("the shards were computed by sstc-match {shards}, this is {merge}; merge with the shards' version, or rerun them")]
    Version {
        /// The shards' version.
        shards: String,
        /// This binary's.
        merge: String,
    },
    /// A settings file changed since the shards ran.
    #[error("{path} (--{flag}) changed since the shards ran (sha256 {found}, the shards' {expected}); the lists were computed with the old one: rerun the shards")]
    SettingsChanged {
        /// The file.
        path: String,
        /// The flag naming it.
        flag: String,
        /// Its digest now.
        found: String,
        /// The shards' digest (`none` when the shards had no such file).
        expected: String,
    },
    /// A shard holds another number of partners than the input gives it.
    #[error("{dir}: the shard computed {found} {what} where the profiles give it {expected}; rerun it")]
    Count {
        /// The shard's directory.
        dir: String,
        /// What was counted.
        what: &'static str,
        /// Lists in the shard.
        found: usize,
        /// Partners the shard owns.
        expected: usize,
    },
}

/// Merges the shards and publishes the night on a pool of `config.threads`.
pub fn merge(config: &MergeConfig, progress: Progress) -> Result<RunManifest, Error> {
    let shards = config.shards.iter().map(|dir| ShardDir::open(dir)).collect::<Result<Vec<_>, _>>()?;
    let shards = in_order(shards)?;
    let first = &shards[0].manifest;
    let mut run_config = RunConfig { shard: None, out: config.out.clone(), threads: config.threads, ..first.config.clone() };
    // The settings as a config file would repeat the night on one machine.
    for flag in ["shard", "threads"] {
        run_config.settings.remove(flag);
    }
    run_config.settings.insert("out".into(), toml::Value::String(config.out.display().to_string()));
    let run_config = &run_config;
    if first.version != env!("CARGO_PKG_VERSION") {
        return Err(MergeError::Version { shards: first.version.clone(), merge: env!("CARGO_PKG_VERSION").to_string() }.into());
    }
    run::in_pool(config.threads, || {
        let (staging, engine, mut clock, started_at) = run::open(run_config, progress)?;
        same_input(&engine, first).map_err(Error::Merge)?;
        let sink = run_config.sink.as_ref().map(|sink| Sink::open(&sink.url, sink.keep_runs)).transpose()?;
        let active = engine.active();
        staging.ensure_space(shortlist::estimated_bytes(active.len(), run_config.top_k))?;
        let ranked = clock.time("read shards", || read_shards(&engine, &active, &shards))?;
        info!(target: "sstc_match::merge", shards = shards.len(), partners = active.len(), "shards read");
        let records = shards.iter().map(record).collect();
        let night = Night { config: run_config, engine: &engine, active: &active, ranked, shards: records };
        run::publish_night(night, Destinations { staging, sink }, clock, started_at, progress)
    })
}

/// Fails unless the engine read what the shards read: the same profile content and settings
/// files (the lists were computed from them).
fn same_input(engine: &Engine, shards: &ShardManifest) -> Result<(), Box<MergeError>> {
    let ingested = &engine.ingested;
    if ingested.content_digest != shards.input.content_digest {
        return Err(Box::new(MergeError::InputChanged { table: engine.source_name.clone(), found: ingested.content_digest.clone(), expected: shards.input.content_digest.clone() }));
    }
    let theirs = |flag: &str| shards.input.settings_files.iter().find(|f| f.flag == flag).map(|f| f.sha256.as_str());
    match engine.settings_files.iter().find(|f| theirs(&f.flag) != Some(f.sha256.as_str())) {
        Some(file) => Err(Box::new(MergeError::SettingsChanged { path: file.path.clone(), flag: file.flag.clone(), found: file.sha256.clone(), expected: theirs(&file.flag).unwrap_or("none").to_string() })),
        None => Ok(()),
    }
}

/// The shards ordered by index, once checked: every one a shard of the same night (run id:
/// input, settings files, settings, version), each index 0..N exactly once.
fn in_order(mut shards: Vec<ShardDir>) -> Result<Vec<ShardDir>, Error> {
    let shown = |s: &ShardDir| s.path.display().to_string();
    let first = &shards[0];
    for shard in &shards {
        let (m, f) = (&shard.manifest, &first.manifest);
        let differs = [
            ("sstc-match version", m.version.clone(), f.version.clone()),
            ("input (content digest)", m.input.content_digest.clone(), f.input.content_digest.clone()),
            ("settings (run id)", m.run_id.clone(), f.run_id.clone()),
            ("shard count", m.shard.count.to_string(), f.shard.count.to_string()),
            ("--previous (the run the night's changes compare with)", shown_previous(&m.config), shown_previous(&f.config)),
        ];
        if let Some((what, found, expected)) = differs.into_iter().find(|(_, a, b)| a != b) {
            return Err(MergeError::Mismatch { dir: shown(shard), shard: m.shard.to_string(), first: shown(first), what, found, expected }.into());
        }
    }
    shards.sort_by_key(|s| s.manifest.shard.index);
    if let Some(pair) = shards.windows(2).find(|w| w[0].manifest.shard == w[1].manifest.shard) {
        return Err(MergeError::Twice { shard: pair[0].manifest.shard.to_string(), first: shown(&pair[0]), second: shown(&pair[1]) }.into());
    }
    let count = shards[0].manifest.shard.count;
    let missing: Vec<String> = (0..count).filter(|&i| !shards.iter().any(|s| s.manifest.shard.index == i)).map(|index| Shard { index, count }.to_string()).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { count, are: if missing.len() == 1 { "is" } else { "are" }, missing: missing.join(", ") }.into());
    }
    Ok(shards)
}

/// A shard's `--previous`, as a merge error shows it.
fn shown_previous(config: &RunConfig) -> String {
    config.previous.as_ref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
}

/// Every active partner's pool and every partner in need's resource list, read from the
/// shard that owns it, in the night's order; the counters summed.
fn read_shards(engine: &Engine, active: &[PartnerIdx], shards: &[ShardDir]) -> Result<Ranked, Error> {
    let profiles = engine.profiles();
    let count = shards[0].manifest.shard.count;
    let owner: Vec<u32> = profiles.par_iter().map(|p| Shard::of(&p.id, count)).collect();
    let index_of = profile::id_index(profiles);
    let supporters = Supporters::new(profiles, &engine.features);
    let needy = supporters.in_need(active);
    let mut is_needy = vec![false; profiles.len()];
    for &p in &needy {
        is_needy[p as usize] = true;
    }
    let read = shards
        .par_iter()
        .map(|shard| {
            let index = shard.manifest.shard.index;
            let owned = |p: PartnerIdx| owner[p as usize] == index;
            let pools = shard.lists(POOLS, &index_of, &|p| owned(p) && engine.features.active[p as usize])?;
            let resources = shard.lists(RESOURCE_LISTS, &index_of, &|p| owned(p) && is_needy[p as usize])?;
            Ok((pools, resources))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut pool: Vec<Vec<Hit>> = vec![Vec::new(); profiles.len()];
    let mut resources: Vec<Vec<Hit>> = vec![Vec::new(); profiles.len()];
    for ((pools, lists), shard) in read.into_iter().zip(shards) {
        let index = shard.manifest.shard.index;
        let expected = |set: &[PartnerIdx]| set.iter().filter(|&&p| owner[p as usize] == index).count();
        let m = &shard.manifest;
        let dir = shard.path.display().to_string();
        for (what, found, expected) in [("partners", m.partners, expected(active)), ("partners in need", m.in_need, expected(&needy))] {
            if found != expected {
                return Err(MergeError::Count { dir, what, found, expected }.into());
            }
        }
        for (lists, into) in [(pools, &mut pool), (lists, &mut resources)] {
            for list in lists {
                into[list.partner as usize] = list.hits;
            }
        }
    }
    let names = engine.rules.names();
    let mut stats = RankStats::new(&engine.rules);
    for shard in shards {
        let m = &shard.manifest;
        let removed = names.iter().map(|n| m.pairs_removed_by_rule.get(*n).copied().unwrap_or(0)).collect();
        stats = stats.merge(RankStats { pairs_scored: m.pairs_scored, removed_by_rule: removed });
    }
    let blocking = shards[0].manifest.blocking.clone().map(|mut record| {
        record.pairs_per_partner = stats.pairs_scored as f64 / active.len().max(1) as f64;
        record
    });
    Ok(Ranked {
        pool: active.iter().map(|&p| Shortlist { partner: p, hits: std::mem::take(&mut pool[p as usize]) }).collect(),
        resources: needy.iter().map(|&p| std::mem::take(&mut resources[p as usize])).collect(),
        needy,
        stats,
        blocking,
        state: None,
    })
}

/// What the merged manifest records of a shard.
fn record(shard: &ShardDir) -> ShardRecord {
    let m = &shard.manifest;
    ShardRecord {
        shard: m.shard.to_string(),
        dir: shard.path.display().to_string(),
        started_at: m.started_at.clone(),
        finished_at: m.finished_at.clone(),
        partners: m.partners,
        timings: m.timings.clone(),
        peak_rss_mb: m.peak_rss_mb,
    }
}
