//! The nightly job, stage by stage. Start reading here.
//!
//! Input: a checked [`RunConfig`]. Output: the published files in the output directory and
//! the [`RunManifest`] describing them.
//!
//! ```text
//! ingest → features → cluster → rank (rules, score, top-k) → output (explain, write, publish)
//! ```
//!
//! The output directory is opened first (an unwritable directory fails before any work), and
//! nothing is published until every file is complete.

use sha2::{Digest, Sha256};
use tracing::info;

use crate::config::RunConfig;
use crate::engine::candidates::{self, Blocks};
use crate::engine::cluster::store::StoredModel;
use crate::engine::cluster::{self, ClusterModel};
use crate::engine::fairness::fairness;
use crate::engine::features::PartnerFeatures;
use crate::io::table::hex;
use crate::engine::rank::{self, Candidates, Scan};
use crate::engine::reference::Reference;
use crate::engine::triads::{self, TriadSearch};
use crate::engine::{spread, Engine};
use crate::error::Error;
use crate::io::atomic;
use crate::io::manifest::{peak_rss_mb, BlockingRecord, Counts, FairnessRecord, InputRecord, LargestBlock, ModelRecord};
use crate::io::table::TableFormat;
use crate::output::shortlist::{self, ShortlistContext};
use crate::io::manifest::RunManifest;
use crate::io::run_dir::{self, CENTROIDS, TRIADS_CSV, TRIADS_PARQUET};
use crate::output::{self, Staging};
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;

/// Runs the whole job on a thread pool of `config.threads`.
pub fn run(config: &RunConfig, progress: Progress) -> Result<RunManifest, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Threads {
            threads: config.threads,
            reason: e.to_string(),
        })?;
    pool.install(|| run_stages(config, progress))
}

fn run_stages(config: &RunConfig, progress: Progress) -> Result<RunManifest, Error> {
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let reference = Reference::builtin();
    let mut clock = StageClock::default();
    let mut staging = Staging::open(&config.out)?;
    if let Some(stale) = staging.stale_lock() {
        tracing::warn!(target: "sstc_match::output", previous = stale, "recovered the lock of an interrupted run");
    }

    let engine = Engine::prepare(&config.matching, &mut clock, progress)?;
    let (ingested, features, rules) = (&engine.ingested, &engine.features, &engine.rules);
    let profiles = engine.profiles();
    let active = engine.active();
    // A shortlist row takes well under 1 KB in CSV plus Parquet; check before the long work.
    staging.ensure_space(1024 * (active.len() * config.top_k) as u64 + (1 << 20))?;

    let spinner = progress.stage("cluster", 0);
    let (model, assignment) = clock.time("cluster", || cluster_stage(config, features, &active))?;
    spinner.finish_and_clear();

    let scorer = engine.scorer();
    if let Some(dir) = &config.export_matrices {
        clock.time("export", || output::matrices::export(dir, &scorer, &active, profiles))?;
    }
    let bar = progress.stage("rank", active.len() as u64);
    // Re-ranking chooses k from a pool of 3k; the plain lists are the pool's first k.
    let rerank = config.rerank;
    let pool_k = if rerank.is_active() { 3 * config.top_k } else { config.top_k };
    let (pool, stats, blocking) = clock.time("rank", || {
        rank_stage(config, &engine, &active, pool_k, &|n| bar.inc(n))
    });
    bar.finish_and_clear();
    let plain: Vec<rank::Shortlist> = pool.iter().map(|l| l.truncated(config.top_k)).collect();
    let reranked: Option<Vec<rank::Shortlist>> = rerank.is_active().then(|| {
        clock.time("rerank", || pool.iter().map(|l| rank::rerank::rerank(features, l, config.top_k, &rerank)).collect())
    });
    let fairness = FairnessRecord {
        plain: fairness(&plain, features, reference),
        reranked: reranked.as_ref().map(|lists| fairness(lists, features, reference)),
    };
    let lists = reranked.unwrap_or(plain);
    if let Some(recall) = blocking.as_ref().and_then(|b| b.recall_at_k) {
        info!(target: "sstc_match::rank", recall_at_k = recall, "blocked lists against exact lists on a sample");
    }
    info!(target: "sstc_match::rank", partners = active.len(), pairs_scored = stats.pairs_scored);

    let run_id = run_id(config, &engine);
    let bar = progress.stage("write", lists.len() as u64);
    let shortlist_rows = clock.time("output", || -> Result<usize, Error> {
        let context = ShortlistContext {
            run_id: &run_id,
            profiles,
            reference,
            assignment: &assignment,
            scorer: &scorer,
        };
        let rows = shortlist::write(&mut staging, &context, &lists, &|n| bar.inc(n))?;
        output::write_rejects(&mut staging, &ingested.rejects)?;
        let summaries = match &model {
            Some(model) => cluster::summarise(&assignment, model.k(), profiles, reference),
            None => Vec::new(),
        };
        output::write_clusters(&mut staging, &summaries)?;
        if let Some(beam) = config.triads_beam {
            let facilitator_role = reference.roles.lookup("facilitator").expect("contract role");
            let facilitator: Vec<bool> = profiles.iter().map(|p| p.roles.contains(facilitator_role)).collect();
            let search = TriadSearch {
                scorer: &scorer,
                rules,
                definition: config.matching.triangular_definition,
                beam,
                per_beneficiary: 3,
                facilitator: &facilitator,
            };
            write_triads(&mut staging, &search, &active, profiles, &run_id)?;
        }
        if let Some(model) = &model {
            // The run keeps the centroids it used (so `diff` can align clusters between runs);
            // a fitted model is also saved for reuse.
            let stored = StoredModel::new(model, &ingested.sha256);
            let json = serde_json::to_vec_pretty(&stored).map_err(output::OutputError::from)?;
            let mut file = staging.create(CENTROIDS)?;
            std::io::Write::write_all(&mut file, &json).map_err(|e| output::OutputIoError {
                path: CENTROIDS.into(),
                source: e,
            })?;
            staging.finish(file)?;
            if !config.reuse_model {
                atomic::write_file_atomic(&config.model_dir.join(CENTROIDS), &json)?;
            }
        }
        Ok(rows)
    })?;
    bar.finish_and_clear();

    let manifest = RunManifest {
        run_id,
        started_at,
        finished_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SSTC_GIT_COMMIT").unwrap_or("unknown").to_string(),
        input: InputRecord {
            path: engine.source_name.clone(),
            sha256: ingested.sha256.clone(),
            content_digest: ingested.content_digest.clone(),
            rows_read: ingested.rows_read,
            rows_rejected: ingested.rows_rejected,
            problems: ingested.rejects.len(),
            ignored_columns: ingested.ignored_columns.clone(),
            settings_files: engine.settings_files.clone(),
        },
        config: config.clone(),
        model: ModelRecord {
            path: config.model_dir.join(CENTROIDS).display().to_string(),
            reused: config.reuse_model,
            k: model.as_ref().map_or(0, ClusterModel::k),
            trained_on: model.as_ref().map_or(0, |m| m.trained_on),
            inertia: model.as_ref().map_or(0.0, |m| m.inertia),
        },
        counts: Counts {
            profiles: profiles.len(),
            active_partners: active.len(),
            shortlists: lists.iter().filter(|l| !l.hits.is_empty()).count(),
            shortlist_rows,
            pairs_scored: stats.pairs_scored,
            pairs_removed_by_rule: rules
                .names()
                .into_iter()
                .map(String::from)
                .zip(stats.removed_by_rule.iter().copied())
                .collect(),
        },
        blocking,
        fairness,
        exclusions: engine.exclusion_stats.clone(),
        timings: clock.timings,
        peak_rss_mb: peak_rss_mb(),
        outputs: staging.finished().iter().cloned().collect(),
        exit_code: if ingested.rows_rejected > 0 { 1 } else { 0 },
    };
    run_dir::publish(staging, &manifest)?;
    info!(target: "sstc_match::output", run_id = %manifest.run_id, rows = shortlist_rows, dir = %config.out.display());
    Ok(manifest)
}

/// Ranks the active partners' candidates: exhaustively, or in blocked mode down the block
/// tree with recall measured against exact lists on a sample.
fn rank_stage(
    config: &RunConfig,
    engine: &Engine,
    active: &[PartnerIdx],
    pool_k: usize,
    tick: &(dyn Fn(u64) + Sync),
) -> (Vec<rank::Shortlist>, rank::RankStats, Option<BlockingRecord>) {
    let Some(settings) = &config.blocked else {
        let (lists, stats) = engine.scan().shortlists(active, pool_k, tick);
        return (lists, stats, None);
    };
    let probe = (settings.probe > 0).then_some(settings.probe);
    let blocks = Blocks::build(&engine.scorer(), active, settings.max_block, probe);
    let (lists, stats) = Scan::new(engine.scorer(), &engine.rules, Candidates::Blocks(&blocks)).shortlists(active, pool_k, tick);
    let sample = spread(active, settings.recall_sample);
    let recall_at_k = (!sample.is_empty()).then(|| {
        let (exact, _) = engine.scan().shortlists(&sample, config.top_k, &|_| {});
        let blocked: Vec<rank::Shortlist> = lists
            .iter()
            .filter(|l| sample.binary_search(&l.partner).is_ok())
            .map(|l| l.truncated(config.top_k))
            .collect();
        rank::recall_against(&blocked, &exact)
    });
    let tree = &blocks.tree;
    let profiles = engine.profiles();
    let record = BlockingRecord {
        leaves: tree.leaves().count(),
        leaf_size: candidates::LEAF,
        split: tree.split,
        probe,
        largest: tree.largest(5).into_iter().map(|(first, members, share)| LargestBlock::of(&profiles[first as usize], members, share)).collect(),
        pairs_per_partner: stats.pairs_scored as f64 / active.len().max(1) as f64,
        recall_sample: sample.len(),
        recall_at_k,
    };
    (lists, stats, Some(record))
}

/// Searches triads for every active beneficiary and stages `triads.csv` and `.parquet`.
fn write_triads(
    staging: &mut Staging,
    search: &TriadSearch,
    active: &[PartnerIdx],
    profiles: &[crate::engine::profile::Profile],
    run_id: &str,
) -> Result<(), Error> {
    let triads = search.all(active);
    let mut frame = triads::frame(&triads, search, profiles, Reference::builtin(), run_id).map_err(output::write_error("triads"))?;
    output::write_table(staging, TRIADS_CSV, &mut frame, TableFormat::Csv)?;
    output::write_table(staging, TRIADS_PARQUET, &mut frame, TableFormat::Parquet)?;
    Ok(())
}

/// Fits (or reads) the centroids and assigns every partner to one.
fn cluster_stage(
    config: &RunConfig,
    features: &PartnerFeatures,
    active: &[PartnerIdx],
) -> Result<(Option<ClusterModel>, Vec<u32>), Error> {
    let model = if config.reuse_model {
        StoredModel::load(&config.model_dir.join(CENTROIDS))?
    } else {
        // With no active partner left, the clusters still describe the valid profiles.
        let all: Vec<PartnerIdx>;
        let fit_on = if active.is_empty() {
            all = (0..features.len() as PartnerIdx).collect();
            &all
        } else {
            active
        };
        if fit_on.is_empty() {
            return Ok((None, Vec::new()));
        }
        let k = config.clusters.unwrap_or_else(|| cluster::default_cluster_count(fit_on.len()));
        cluster::fit(features, fit_on, k, config.seed)?
    };
    let assignment = model.assign(features);
    Ok((Some(model), assignment))
}

/// A deterministic run id: the same input content (rows in any order), settings files,
/// configuration and engine version give the same id. Where files are read and written and
/// the thread count are left out ([`RunConfig::identity`]): they never change results.
fn run_id(config: &RunConfig, engine: &Engine) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    hasher.update(&engine.ingested.content_digest);
    for file in &engine.settings_files {
        hasher.update(&file.flag);
        hasher.update(&file.sha256);
    }
    hasher.update(serde_json::to_vec(&config.identity()).expect("config serialises"));
    hex(&hasher.finalize())[..16].to_string()
}

