//! The nightly job, stage by stage. Start reading here.
//!
//! Input: a checked [`RunConfig`]. Output: the published run directory and the
//! [`RunManifest`] describing it; with `--shard I/N`, a shard directory and its
//! [`ShardManifest`] (`merge` publishes the run from the N of them).
//!
//! ```text
//! open the output → prepare the engine (ingest, features, rules) → rank (scan) → resources
//! (funders and facilitators per need)                           ─┐ a shard: these two for its
//!   ┌─────────────────────────────────────────────────────────────┘ partners, then its directory
//!   └▶ publish_night: [recall] → cluster → re-rank → [triads, support proposals] → output
//!      (explain, write; with --sink also copied into PostgreSQL) → manifest → commit the
//!      sink → publish                                          (merge: from the shards' lists)
//! ```
//!
//! The output directory is opened first (an unwritable or busy directory fails before any
//! work), and nothing is published until every file is complete. Only the lists are
//! sharded: what needs every list at once (recall on a sample, exposure, triads granted
//! within limits per third, each donor's proposals) runs in [`publish_night`].

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use tracing::info;

use crate::config::{BlockedMode, RunConfig, TriadSettings};
use crate::engine::candidates::{self, Blocks};
use crate::engine::cluster::store::{FittedOn, StoredModel};
use crate::engine::cluster::{self, ClusterModel};
use crate::engine::fairness::fairness;
use crate::engine::incremental::{self, PreviousPool};
use crate::engine::profile::IdSet;
use crate::engine::rules::exclusions::Exclusions;
use crate::engine::rules::Rule;
use crate::engine::rank::rerank::rerank;
use crate::engine::rank::{self, Candidates, Hit, RankStats, Scan, Shortlist};
use crate::engine::shard::Shard;
use crate::engine::reference::Reference;
use crate::engine::support::Supporters;
use crate::engine::triads::{self, Triad, TriadSearch};
use crate::engine::{spread, Engine};
use crate::error::Error;
use crate::io::pairs::PairWindow;
use crate::io::manifest::{peak_rss_mb, BlockingRecord, ChangeCounts, Continuity, Counts, FairnessRecord, IncrementalRecord, IncrementalState, InputRecord, LargestBlock, ModelRecord, RunManifest, SettingsFile, ShardRecord};
use crate::io::shard::{ShardManifest, POOLS, RESOURCE_LISTS, SHARD_MANIFEST};
use crate::io::state::{self, Identity};
use crate::io::{self, atomic};
use crate::io::postgresql::sink::Sink;
use crate::io::run_dir::publish::{check_outside, stop_after};
use crate::io::run_dir::{self, RunDir, CENTROIDS};
use crate::io::table::hex;
use crate::output::changes::{ChangesContext, Previous};
use crate::output::resources::ResourceContext;
use crate::output::sentence::triad_reason;
use crate::output::shortlist::{self, ShortlistContext, SupportProposals};
use crate::output::{self, Destinations, Staging};
use crate::telemetry::{Progress, StageClock};
use crate::{PartnerIdx, Score};

/// Triads kept per beneficiary.
const TRIADS_PER_BENEFICIARY: usize = 3;
/// Funders and facilitators tried per beneficiary for its triads.
const THIRDS_PER_BENEFICIARY: usize = 10;

/// Runs the whole job on a thread pool of `config.threads`.
pub fn run(config: &RunConfig, progress: Progress) -> Result<RunManifest, Error> {
    in_pool(config.threads, || {
        let (staging, engine, mut clock, started_at) = open(config, progress)?;
        let sink = config.sink.as_ref().map(|sink| Sink::open(&sink.url, sink.keep_runs)).transpose()?;
        let active = engine.active();
        staging.ensure_space(shortlist::estimated_bytes(active.len(), config.top_k))?;
        let plan = config.incremental.then(|| clock.time("state", || plan_incremental(config, &engine)));
        let ranked = rank_and_support(config, &engine, (&active, &active), plan, &mut clock, progress);
        let night = Night { config, engine: &engine, active: &active, ranked, shards: Vec::new() };
        publish_night(night, Destinations { staging, sink }, clock, started_at, progress)
    })
}

/// Runs shard `shard` of the job (`run --shard`): the lists and resource lists of the
/// shard's partners, published as a shard directory in `config.out` for `merge`.
pub fn run_shard(config: &RunConfig, shard: Shard, progress: Progress) -> Result<ShardManifest, Error> {
    in_pool(config.threads, || {
        let (mut staging, engine, mut clock, started_at) = open(config, progress)?;
        let active = engine.active();
        let mine = shard.select(engine.profiles(), &active);
        let ranked = rank_and_support(config, &engine, (&active, &mine), None, &mut clock, progress);
        let profiles = engine.profiles();
        clock.time("output", || -> Result<(), Error> {
            io::shard::write_lists(&mut staging, POOLS, profiles, &ranked.pool)?;
            let resource_lists: Vec<Shortlist> = ranked.needy.iter().zip(ranked.resources).map(|(&partner, hits)| Shortlist { partner, hits }).collect();
            Ok(io::shard::write_lists(&mut staging, RESOURCE_LISTS, profiles, &resource_lists)?)
        })?;
        let manifest = ShardManifest {
            shard,
            run_id: run_id(config, &engine),
            started_at,
            finished_at: now(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("SSTC_GIT_COMMIT").unwrap_or("unknown").to_string(),
            input: input_record(&engine),
            config: config.clone(),
            partners: mine.len(),
            in_need: ranked.needy.len(),
            pairs_scored: ranked.stats.pairs_scored,
            pairs_removed_by_rule: removed_by_rule(&engine, &ranked.stats),
            blocking: ranked.blocking,
            timings: clock.timings,
            peak_rss_mb: peak_rss_mb(),
            outputs: staging.finished().iter().cloned().collect(),
        };
        io::shard::publish_shard(staging, &manifest)?;
        info!(target: "sstc_match::output", run_id = %manifest.run_id, shard = %shard, partners = mine.len(), dir = %config.out.display());
        Ok(manifest)
    })
}

/// Runs `work` on a thread pool of `threads`.
pub(crate) fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> Result<T, Error> + Send) -> Result<T, Error> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| Error::Threads { threads, reason: e.to_string() })?;
    pool.install(work)
}

/// What every run does first: takes the output directory (an unwritable, foreign or busy one
/// fails before any work), sets the runtime limit, prepares the engine and checks its input.
/// Returns the staging area, the engine, the clock and the start time.
pub(crate) fn open(config: &RunConfig, progress: Progress) -> Result<(Staging, Engine, StageClock, String), Error> {
    let started_at = now();
    let mut clock = StageClock::default();
    for (flag, dir) in [("model-dir", &config.model_dir), ("export-matrices", &config.export_matrices)] {
        if let Some(dir) = dir {
            check_outside(&config.out, flag, dir)?;
        }
    }
    if let Some(dir) = &config.previous {
        RunDir::open(dir)?.check_shortlist()?;
    }
    let staging = Staging::open(&config.out)?;
    // A shard never replaces a published run, nor a run a shard: either is a mistyped --out.
    let holds = |name: &str| config.out.join(name).is_file();
    match config.shard {
        Some(_) if holds(run_dir::MANIFEST) => return Err(Error::ShardOverRun { out: config.out.display().to_string() }),
        None if holds(SHARD_MANIFEST) => return Err(Error::RunOverShard { out: config.out.display().to_string() }),
        _ => {}
    }
    if let Some(seconds) = config.max_runtime_seconds {
        stop_after(std::time::Duration::from_secs(seconds), humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string());
    }
    if let Some(stale) = staging.stale_lock() {
        tracing::warn!(target: "sstc_match::output", previous = stale, "recovered the lock of an interrupted run");
    }
    let engine = Engine::prepare(&config.matching, &mut clock, progress)?;
    check_input(config, &engine)?;
    Ok((staging, engine, clock, started_at))
}

/// A night ranked, on one machine or merged from its shards: what the rest of the job needs.
pub(crate) struct Night<'e> {
    /// The run's configuration (with no shard).
    pub config: &'e RunConfig,
    /// The prepared engine.
    pub engine: &'e Engine,
    /// The active partners.
    pub active: &'e [PartnerIdx],
    /// Every active partner's pool and every partner in need's resource list.
    pub ranked: Ranked,
    /// The shards it was merged from (none on one machine).
    pub shards: Vec<ShardRecord>,
}

/// Clusters, re-ranks, finds the triads and support proposals, writes every table, the
/// manifest last, and publishes the run (with its sink, when it has one).
pub(crate) fn publish_night(night: Night, mut out: Destinations, mut clock: StageClock, started_at: String, progress: Progress) -> Result<RunManifest, Error> {
    let Night { config, engine, active, ranked, shards } = night;
    let Ranked { pool, stats, mut blocking, needy, resources, state } = ranked;
    if let Some(record) = &mut blocking {
        clock.time("recall", || measure_recall(config, engine, active, &pool, record));
    }
    let spinner = progress.stage("cluster", 0);
    let clusters = clock.time("cluster", || cluster_stage(config, engine, active))?;
    spinner.finish_and_clear();
    if let Some(dir) = &config.export_matrices {
        clock.time("export", || output::matrices::export(dir, &engine.scorer(), active, engine.profiles()))?;
    }
    let lists = clock.time("rerank", || rerank_stage(config, engine, pool));
    let supporters = Supporters::new(engine.profiles(), &engine.features);
    let triad_search = config.triads.map(|settings| triad_search(settings, config, engine, &supporters));
    let triads = triad_search.as_ref().map(|search| clock.time("triads", || search.all(lists.final_lists())));
    let proposals = triad_search.as_ref().map(|search| {
        // A donor whose proposals' modality the run's `--modality` filter leaves out keeps its pair list.
        let kept = |s| config.matching.modality.is_empty() || config.matching.modality.contains(&triads::backed_modality(&engine.features, search.definition, s));
        let proposers: Vec<PartnerIdx> = supporters.supporting_only().into_iter().filter(|&s| kept(s)).collect();
        let found = clock.time("proposals", || search.proposals(lists.final_lists(), &proposers, config.top_k));
        SupportProposals { by_proposer: proposers.into_iter().zip(found).collect(), supporters: &supporters, definition: search.definition }
    });
    let run_id = run_id(config, engine);
    let bar = progress.stage("write", lists.final_lists().len() as u64);
    let (shortlist_rows, resource_rows) = clock.time("output", || -> Result<(usize, usize), Error> {
        if let Some(sink) = &mut out.sink {
            sink.begin(&run_id)?;
        }
        let scorer = engine.scorer();
        let context = ShortlistContext { run_id: &run_id, profiles: engine.profiles(), reference: Reference::builtin(), assignment: &clusters.assignment, scorer: &scorer, proposals: proposals.as_ref() };
        let rows = shortlist::write(&mut out, &context, lists.final_lists(), &config.formats, &|n| bar.inc(n))?;
        output::write_rejects(&mut out, &engine.ingested.rejects)?;
        output::write_duplicates(&mut out.staging, &engine.ingested.duplicates, engine.profiles())?;
        let resource_context = ResourceContext { run_id: &run_id, profiles: engine.profiles(), reference: Reference::builtin(), supporters: &supporters, triangular: config.matching.triangular_definition };
        let resource_rows = output::resources::write(&mut out, &resource_context, &needy, &resources, &config.formats)?;
        output::write_clusters(&mut out, &clusters.summaries(engine))?;
        if let Some(model) = &clusters.model {
            output::write_centroids(&mut out.staging, &StoredModel::new(model, clusters.fitted_on.clone()))?;
        }
        if let Some(state) = state.as_ref().filter(|s| s.record.state.is_some()) {
            let pools = io::state::Pools { lists: &state.pools, bounds: &state.bounds, resources: &state.resources, resource_bounds: &state.resource_bounds };
            io::state::write(&mut out.staging, engine.profiles(), &state.identities, pools)?;
        }
        if let (Some(triads), Some(search)) = (&triads, &triad_search) {
            let reason = |t: &Triad| triad_reason(t, &engine.features, engine.profiles(), search.definition, Reference::builtin());
            let mut frame = triads::frame(triads, search, engine.profiles(), Reference::builtin(), &run_id, &reason).map_err(output::write_error("triads"))?;
            output::write_triads(&mut out, &mut frame, &config.formats)?;
        }
        Ok((rows, resource_rows))
    })?;
    bar.finish_and_clear();
    let changes = clock.time("changes", || {
        let context = ChangesContext { run_id: &run_id, profiles: engine.profiles(), lists: lists.final_lists(), proposals: proposals.as_ref() };
        changes_stage(config, &mut out, &context)
    })?;

    let manifest = RunManifest {
        run_id,
        started_at,
        finished_at: now(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: option_env!("SSTC_GIT_COMMIT").unwrap_or("unknown").to_string(),
        input: input_record(engine),
        config: config.clone(),
        model: ModelRecord {
            reused_from: clusters.reused_from.clone(),
            saved_to: config.model_dir.as_ref().filter(|_| clusters.model.is_some() && !config.reuse_model).map(|d| d.join(CENTROIDS).display().to_string()),
            fitted_on: clusters.model.as_ref().map(|_| clusters.fitted_on.clone()),
            k: clusters.model.as_ref().map_or(0, ClusterModel::k),
            trained_on: clusters.model.as_ref().map_or(0, |m| m.trained_on),
            inertia: clusters.model.as_ref().map_or(0.0, |m| m.inertia),
            continuity: clusters.continuity.clone(),
        },
        counts: Counts {
            profiles: engine.profiles().len(),
            active_partners: active.len(),
            shortlists: lists.final_lists().iter().filter(|l| !proposals.as_ref().map_or(l.hits.is_empty(), |p| p.is_empty_for(l))).count(),
            shortlist_rows,
            pairs_scored: stats.pairs_scored,
            pairs_removed_by_rule: removed_by_rule(engine, &stats),
            duplicate_links: engine.ingested.duplicates.links.len(),
            duplicate_records: engine.ingested.duplicates.records(),
            supporters: supporters.len(),
            supporters_backing_offers: supporters.backing_offers(),
            resource_rows,
        },
        blocking,
        fairness: lists.fairness,
        exclusions: engine.exclusion_stats.clone(),
        timings: clock.timings,
        peak_rss_mb: peak_rss_mb(),
        outputs: out.staging.finished().iter().cloned().collect(),
        exit_code: if engine.ingested.rows_rejected > 0 { 1 } else { 0 },
        shards,
        changes,
        incremental: state.map(|state| state.record),
    };
    // The database first, inside the publication: if its commit fails, neither it nor the
    // files show tonight.
    let manifest_json = serde_json::to_string(&manifest).map_err(output::OutputError::from)?;
    run_dir::publish(out.staging, &manifest, || match out.sink {
        Some(sink) => sink.commit(&manifest_json).map_err(Error::from),
        None => Ok(()),
    })?;
    if let (Some(model), Some(dir), false) = (&clusters.model, &config.model_dir, config.reuse_model) {
        // Saved once the run is published: a failed run changes no model directory.
        let json = serde_json::to_vec_pretty(&StoredModel::new(model, clusters.fitted_on.clone())).map_err(output::OutputError::from)?;
        atomic::write_file_atomic(&dir.join(CENTROIDS), &json)?;
    }
    info!(target: "sstc_match::output", run_id = %manifest.run_id, rows = shortlist_rows, dir = %config.out.display());
    Ok(manifest)
}

/// The run tonight is compared with: `--previous`, else the run published in `--out`, if
/// there is one.
fn previous_dir(config: &RunConfig) -> Option<&Path> {
    match &config.previous {
        Some(dir) => Some(dir),
        None => config.out.join(run_dir::MANIFEST).is_file().then_some(config.out.as_path()),
    }
}

/// Compares tonight's lists with the previous run's and writes `changes.csv`. `None` when
/// there is no previous run, or (with a warning: tonight's run is still good) when the one
/// in `--out` cannot be read; a `--previous` that cannot be read is an error.
fn changes_stage(config: &RunConfig, out: &mut Destinations, context: &ChangesContext) -> Result<Option<ChangeCounts>, Error> {
    let Some(dir) = previous_dir(config) else { return Ok(None) };
    match RunDir::open(dir).and_then(|run| Previous::read(&run, context.profiles)) {
        Ok(previous) => Ok(Some(output::changes::write(out, context, &previous, &config.formats)?)),
        Err(error) if config.previous.is_some() => Err(error.into()),
        Err(error) => {
            tracing::warn!(target: "sstc_match::output", %error, "changes.csv not written: the previous run in --out cannot be read");
            Ok(None)
        }
    }
}

/// Now, RFC 3339 to the second.
fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The manifest's record of the input.
fn input_record(engine: &Engine) -> InputRecord {
    let ingested = &engine.ingested;
    InputRecord {
        path: engine.source_name.clone(),
        sha256: ingested.sha256.clone(),
        content_digest: ingested.content_digest.clone(),
        rows_read: ingested.rows_read,
        rows_rejected: ingested.rows_rejected,
        problems: ingested.rejects.len(),
        ignored_columns: ingested.ignored_columns.clone(),
        settings_files: engine.settings_files.clone(),
        notes: ingested.notes.clone(),
    }
}

/// Refuses an input that would publish a run worse than last night's: no profile at all, or
/// more rejected rows than `--max-reject-share` allows.
fn check_input(config: &RunConfig, engine: &Engine) -> Result<(), Error> {
    let ingested = &engine.ingested;
    if ingested.profiles.is_empty() && ingested.rows_rejected == 0 {
        return Err(Error::NoProfiles { table: engine.source_name.clone() });
    }
    let share = ingested.rows_rejected as f64 / ingested.rows_read.max(1) as f64;
    if share > config.max_reject_share as f64 {
        let mut reasons: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for r in &ingested.rejects {
            *reasons.entry((r.column.as_str(), r.reason.split(';').next().unwrap_or_default())).or_default() += 1;
        }
        let mut reasons: Vec<((&str, &str), usize)> = reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let common = reasons.iter().take(3).map(|((column, reason), n)| format!("{n} × column '{column}': {reason}")).collect::<Vec<_>>().join("; ");
        return Err(Error::TooManyRejected { table: engine.source_name.clone(), rejected: ingested.rows_rejected, read: ingested.rows_read, max_share: config.max_reject_share, common });
    }
    Ok(())
}

/// The cluster model, what it was fitted on, where it was read from when reused, how it
/// continues the previous run's, and every partner's cluster.
struct Clusters {
    model: Option<ClusterModel>,
    fitted_on: FittedOn,
    reused_from: Option<String>,
    continuity: Option<Continuity>,
    assignment: Vec<u32>,
}

impl Clusters {
    /// One summary per cluster, for `clusters.csv`.
    fn summaries(&self, engine: &Engine) -> Vec<cluster::ClusterSummary> {
        match &self.model {
            Some(model) => cluster::summarise(&self.assignment, model.k(), engine.profiles(), Reference::builtin()),
            None => Vec::new(),
        }
    }
}

/// Fits (or reads) the centroids and assigns every partner to one. With a previous run (and
/// no `--reuse-model`), its centroids are kept while they explain tonight's fit sample within
/// [`cluster::KEEP_WITHIN`] of tonight's refit (and, with `--clusters K`, number K); else the
/// refit is used, its clusters numbered after the previous ones. Either way a partner's cluster number means what it meant last
/// night.
fn cluster_stage(config: &RunConfig, engine: &Engine, active: &[PartnerIdx]) -> Result<Clusters, Error> {
    let features = &engine.features;
    let ingested = &engine.ingested;
    let mut fitted_on = FittedOn { source: engine.source_name.clone(), sha256: ingested.sha256.clone(), content_digest: ingested.content_digest.clone(), partners: 0 };
    let (mut reused_from, mut continuity) = (None, None);
    let model = if config.reuse_model {
        // The model directory's, else the last run's in --out.
        let path = config.model_dir.as_ref().unwrap_or(&config.out).join(CENTROIDS);
        let model = StoredModel::load_for(&path, &fitted_on)?;
        fitted_on = StoredModel::load(&path)?.1;
        reused_from = Some(path.display().to_string());
        model
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
            return Ok(Clusters { model: None, fitted_on, reused_from, continuity, assignment: Vec::new() });
        }
        fitted_on.partners = fit_on.len();
        let k = config.clusters.unwrap_or_else(|| cluster::default_cluster_count(fit_on.len()));
        let (refit, sample) = cluster::fit(features, fit_on, k, config.seed)?;
        match previous_centroids(config) {
            Some((run_id, path, previous, previous_fitted_on)) => {
                let (inertia_previous, inertia_refit) = (previous.inertia_on(features, &sample), refit.inertia_on(features, &sample));
                // An automatic k follows the registry's size loosely: the previous k stays
                // while its centroids fit; a k the user chose is honoured.
                let same_k = config.clusters.is_none() || previous.k() == refit.k();
                let keep = same_k && inertia_previous <= inertia_refit * (1.0 + cluster::KEEP_WITHIN);
                continuity = Some(Continuity { previous_run_id: run_id, decision: if keep { "kept" } else { "refitted" }.into(), inertia_previous, inertia_refit });
                if keep {
                    fitted_on = previous_fitted_on;
                    reused_from = Some(path);
                    previous
                } else {
                    refit.numbered_after(&previous)
                }
            }
            None => refit,
        }
    };
    let assignment = model.assign(features);
    Ok(Clusters { model: Some(model), fitted_on, reused_from, continuity, assignment })
}

/// The previous run's id, centroids file, centroids and what they were fitted on; `None`
/// when there is no previous run or it has no centroids of this engine's feature layout.
fn previous_centroids(config: &RunConfig) -> Option<(String, String, ClusterModel, FittedOn)> {
    let run = RunDir::open(previous_dir(config)?).ok()?;
    match run.centroids() {
        Ok(Some((model, fitted_on))) => Some((run.manifest.run_id.clone(), run.path.join(CENTROIDS).display().to_string(), model, fitted_on)),
        Ok(None) => None,
        Err(error) => {
            tracing::warn!(target: "sstc_match::cluster", %error, "the previous run's centroids cannot be used: tonight's clusters are numbered afresh");
            None
        }
    }
}

/// A night's ranking, whole or one shard's: the pools of the partners asked for (each one's
/// ranked candidates: its list, or 3k for the re-ranking to choose from), the resource lists
/// of those in need, the scan's counters, blocked mode's record (its recall measured by
/// [`publish_night`], on the whole night's lists) and, with `--incremental`, the state for
/// the next night.
pub(crate) struct Ranked {
    /// Pools, in the order asked.
    pub pool: Vec<Shortlist>,
    /// The scan's counters.
    pub stats: RankStats,
    /// Blocked mode's record.
    pub blocking: Option<BlockingRecord>,
    /// The partners asked for with a declared need.
    pub needy: Vec<PartnerIdx>,
    /// Their funders and facilitators, in the same order.
    pub resources: Vec<Vec<Hit>>,
    /// With `--incremental`: how the night ranked, and the state it leaves.
    pub state: Option<NightState>,
}

/// What an `--incremental` night records and leaves for the next one.
pub(crate) struct NightState {
    /// How it ranked, for the manifest.
    record: IncrementalRecord,
    /// Every profile's identity (none when no state is kept: [`keeps_state`]).
    identities: Vec<Identity>,
    /// Every active partner's pool of depth + margin (not written when `record.state` is
    /// `None`).
    pools: Vec<Shortlist>,
    /// Each pool's bound, in the same order.
    bounds: Vec<Score>,
    /// Every partner in need's resource pool (resource k + as many again).
    resources: Vec<Shortlist>,
    /// Each resource pool's bound, in the same order.
    resource_bounds: Vec<Score>,
}

/// How an `--incremental` night ranks: from the previous run's state, or in full and why.
pub(crate) struct Plan {
    /// Every profile's identity (none when no state is kept: [`keeps_state`]).
    identities: Vec<Identity>,
    /// What the previous run left; `Err`: why the night ranks in full.
    previous: Result<PreviousNight, String>,
}

/// What an `--incremental` night ranks from: the previous run's pools of tonight's kept
/// partners (by index), and how far scores moved since.
struct PreviousNight {
    /// The previous run's id.
    run_id: String,
    /// Pools: `Some` for a kept partner.
    pools: Vec<Option<PreviousPool>>,
    /// The score shift between the nights ([`incremental::score_shift`]).
    shift: Score,
    /// Resource pools: `Some` for a kept partner in need.
    resources: Vec<Option<PreviousPool>>,
    /// The support shift between the nights ([`incremental::support_shift`]).
    support_shift: Score,
}

/// Above this share of active partners new or changed, an incremental night ranks in full:
/// each fresh partner costs a row of the scan against everyone, the kept ones a scan of the
/// fresh columns, and the rarity weights move further. Measured at 100k (BENCHMARKS.md,
/// "Incremental nights"): with 9.7 % fresh the ranking took 0.58 of a full one, with 19 %
/// 1.22 of it.
const FRESH_SHARE_LIMIT: f64 = 0.15;

/// The pool depth a run ranks: its list, or 3k for the re-ranking to choose from.
fn pool_depth(config: &RunConfig) -> usize {
    if config.rerank.is_active() {
        config.top_k.saturating_mul(3)
    } else {
        config.top_k
    }
}

/// The depth and margin of the pools an `--incremental` run keeps: as many candidates again
/// as its pool, so that a list can stand while some leave.
fn state_pools(config: &RunConfig) -> (usize, usize) {
    (pool_depth(config), pool_depth(config))
}

/// The same for its resource pools.
fn state_resource_pools(config: &RunConfig) -> (usize, usize) {
    (config.resource_k, config.resource_k)
}

/// Whether an `--incremental` run keeps a state: not in blocked mode with a `--probe`
/// limit, whose lists depend on the leaf blocks of a tree built from every partner, not on
/// their candidates alone.
fn keeps_state(config: &RunConfig) -> bool {
    !matches!(&config.blocked, Some(BlockedMode { probe: 1.., .. }))
}

/// Reads the previous run's state, when tonight can rank from it.
fn plan_incremental(config: &RunConfig, engine: &Engine) -> Plan {
    // Identities are only written with a state.
    let identities = match keeps_state(config) {
        true => state::identities(engine.profiles(), &engine.ingested.duplicates),
        false => Vec::new(),
    };
    let previous = previous_state(config, engine, &identities);
    if let Err(reason) = &previous {
        info!(target: "sstc_match::rank", %reason, "the incremental night ranks in full");
    }
    Plan { identities, previous }
}

/// What the previous run left for tonight's kept partners; or why tonight ranks in full
/// (nothing is wrong with a full night: it writes the state anew).
fn previous_state(config: &RunConfig, engine: &Engine, identities: &[Identity]) -> Result<PreviousNight, String> {
    if !keeps_state(config) {
        return Err("blocked mode with a --probe limit: a list depends on the leaf blocks of a tree built from every partner, not on its candidates alone (--probe 0 ranks incrementally)".into());
    }
    let dir = previous_dir(config).ok_or("no previous run in --out".to_string())?;
    let run = RunDir::open(dir).map_err(|e| e.to_string())?;
    let previous = &run.manifest;
    let held = previous.incremental.as_ref().and_then(|r| r.state.as_ref()).ok_or(format!("the previous run {} left no incremental state (it ran without --incremental, was merged from shards, or ran blocked with a probe limit)", previous.run_id))?;
    let build = (env!("CARGO_PKG_VERSION"), option_env!("SSTC_GIT_COMMIT").unwrap_or("unknown"));
    if (previous.version.as_str(), previous.git_commit.as_str()) != build {
        return Err(format!("the previous run was made by another build of sstc-match ({} at commit {})", previous.version, previous.git_commit));
    }
    let differ = differing_settings(&previous.config.identity(), &config.identity());
    // Dated exclusions end on the run's day: another day moves only the lists of the pairs
    // whose exclusion began or ended between the two days.
    let excluded_then = match (&previous.config.matching.exclusions, &config.matching.exclusions) {
        (Some(then), Some(now)) if differ == ["exclusions"] && PairWindow { as_of: now.as_of, ..then.clone() } == *now => Some(then),
        _ if differ.is_empty() => None,
        _ => return Err(format!("settings changed since the previous run: {}", differ.join(", "))),
    };
    let digests = |files: &[SettingsFile]| files.iter().map(|f| (f.flag.clone(), f.sha256.clone())).collect::<Vec<_>>();
    if digests(&previous.input.settings_files) != digests(&engine.settings_files) {
        return Err("a settings file changed since the previous run".into());
    }
    let theme_weights: [f32; 64] = held.theme_weights.as_slice().try_into().map_err(|_| "the previous state's theme weights are not 64".to_string())?;
    if (held.depth, held.margin) != state_pools(config) {
        return Err("the previous state's pools have another depth".into());
    }
    let features = &engine.features;
    let state::Previous { mut pools, mut resources } = state::read(&run, engine.profiles(), identities, &features.active).map_err(|error| {
        tracing::warn!(target: "sstc_match::rank", %error, "the previous run's state cannot be used: tonight ranks in full");
        error.to_string()
    })?;
    if let Some(window) = excluded_then {
        let now = engine.rules.iter().find_map(|rule| match rule {
            Rule::Exclusions(exclusions) => Some(exclusions),
            _ => None,
        });
        let (then, _, _) = Exclusions::load(window, engine.profiles()).map_err(|e| e.to_string())?;
        for p in then.moved(now.expect("a run with --exclusions has the rule")) {
            (pools[p as usize], resources[p as usize]) = (None, None);
        }
    }
    let active = features.active.iter().filter(|&&a| a).count();
    let fresh = active - pools.iter().filter(|p| p.is_some()).count();
    if fresh as f64 > FRESH_SHARE_LIMIT * active as f64 {
        return Err(format!("{fresh} of {active} active partners are new or changed, more than {:.0} %", FRESH_SHARE_LIMIT * 100.0));
    }
    let needs_of = |kept: &[Option<PreviousPool>]| kept.iter().enumerate().filter(|(_, p)| p.is_some()).fold(IdSet::EMPTY, |themes, (i, _)| themes.union(features.needs[i]));
    let shift = incremental::score_shift(&theme_weights, &features.theme_weight, needs_of(&pools), engine.scorer().weights());
    let support_shift = incremental::support_shift(&theme_weights, &features.theme_weight, needs_of(&resources));
    Ok(PreviousNight { run_id: previous.run_id.clone(), pools, shift, resources, support_shift })
}

/// The top-level settings (and settings of matching) on which two configurations differ.
fn differing_settings(a: &RunConfig, b: &RunConfig) -> Vec<String> {
    let (serde_json::Value::Object(a), serde_json::Value::Object(b)) = (serde_json::to_value(a).expect("config serialises"), serde_json::to_value(b).expect("config serialises")) else { unreachable!("a config is an object") };
    let mut differ = Vec::new();
    for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        match (a.get(key), b.get(key)) {
            (Some(serde_json::Value::Object(x)), Some(serde_json::Value::Object(y))) if key == "matching" => {
                differ.extend(x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))).filter(|k| x.get(*k) != y.get(*k)).cloned());
            }
            (x, y) if x != y => differ.push(key.clone()),
            _ => {}
        }
    }
    differ
}

/// Ranks the candidates of `queries` among the `active` partners (exhaustively, or in
/// blocked mode down the block tree of every active partner) and finds the supporters of
/// those in need; with a `plan`, from the previous run's state when it allows.
fn rank_and_support(config: &RunConfig, engine: &Engine, (active, queries): (&[PartnerIdx], &[PartnerIdx]), plan: Option<Plan>, clock: &mut StageClock, progress: Progress) -> Ranked {
    let bar = progress.stage("rank", queries.len() as u64);
    let tick = |n| bar.inc(n);
    // The supporters' index is built once the ranking has released its memory.
    let supporters = || Supporters::new(engine.profiles(), &engine.features);
    let admits = |s, b| engine.rules.admits_support(&engine.features, s, b);
    let Some(plan) = plan else {
        let (pool, stats, blocking) = clock.time("rank", || rank_stage(config, engine, (active, queries), pool_depth(config), &tick));
        bar.finish_and_clear();
        let supporters = supporters();
        let needy = supporters.in_need(queries);
        let resources = clock.time("resources", || supporters.resource_lists(&needy, config.resource_k, &admits));
        return Ranked { pool, stats, blocking, needy, resources, state: None };
    };
    let (pools, bounds, stats, blocking, mut record) = clock.time("rank", || rank_incremental(config, engine, active, &plan, &tick));
    bar.finish_and_clear();
    let supporters = supporters();
    let needy = supporters.in_need(queries);
    let (depth, margin) = state_resource_pools(config);
    let (resource_pools, resource_bounds): (Vec<Shortlist>, Vec<Score>) = clock.time("resources", || match &plan.previous {
        Ok(previous) => {
            let kept = |p: PartnerIdx| previous.pools[p as usize].is_some();
            let (pools, counts) = incremental::resource_lists(&supporters, &needy, &previous.resources, (depth, margin), previous.support_shift, &kept, &admits);
            info!(target: "sstc_match::rank", settled = counts.settled, recomputed = counts.recomputed, shift = counts.shift, "resource lists from the previous run's state");
            (record.resources_settled, record.resources_recomputed, record.support_shift) = (counts.settled, counts.recomputed, counts.shift);
            pools.into_iter().map(|p| (p.list, p.bound)).unzip()
        }
        Err(_) => {
            // A night that keeps no state needs no margin.
            let capacity = if record.state.is_some() { depth + margin } else { depth };
            let lists = supporters.resource_lists(&needy, capacity, &admits);
            record.resources_recomputed = needy.len();
            let pool = |(&partner, hits): (&PartnerIdx, Vec<Hit>)| {
                let bound = incremental::full_bound(&hits, capacity);
                (Shortlist { partner, hits }, bound)
            };
            needy.iter().zip(lists).map(pool).unzip()
        }
    });
    let pool = pools.iter().map(|l| l.truncated(pool_depth(config))).collect();
    let resources = resource_pools.iter().map(|l| l.truncated(config.resource_k).hits).collect();
    let state = NightState { record, identities: plan.identities, pools, bounds, resources: resource_pools, resource_bounds };
    Ranked { pool, stats, blocking, needy, resources, state: Some(state) }
}

/// An `--incremental` night's ranking: from the previous pools when its plan allows, else in
/// full at the depth of the state (unless no state can be written); the pools and their
/// bounds, and how the night ranked.
fn rank_incremental(config: &RunConfig, engine: &Engine, active: &[PartnerIdx], plan: &Plan, tick: &(dyn Fn(u64) + Sync)) -> (Vec<Shortlist>, Vec<Score>, RankStats, Option<BlockingRecord>, IncrementalRecord) {
    let (depth, margin) = state_pools(config);
    let held = IncrementalState { depth, margin, theme_weights: engine.features.theme_weight.to_vec() };
    match &plan.previous {
        Ok(previous) => {
            let (pools, stats, counts) = incremental::rank(&engine.scorer(), &engine.rules, active, &previous.pools, (depth, margin), previous.shift, tick);
            info!(target: "sstc_match::rank", fresh = counts.fresh, settled = counts.settled, recomputed = counts.recomputed, shift = counts.shift, pairs_scored = stats.pairs_scored, "ranked from the previous run's state");
            let (pools, bounds) = pools.into_iter().map(|p| (p.list, p.bound)).unzip();
            let record = IncrementalRecord {
                ranked: "incremental".into(),
                reason: None,
                previous_run_id: Some(previous.run_id.clone()),
                fresh: counts.fresh,
                settled: counts.settled,
                recomputed: counts.recomputed,
                shift: counts.shift,
                resources_settled: 0,
                resources_recomputed: 0,
                support_shift: 0.0,
                state: Some(held),
            };
            (pools, bounds, stats, None, record)
        }
        Err(reason) => {
            // A probe-limited blocked list depends on its depth: it is ranked at the run's.
            let writes_state = keeps_state(config);
            let capacity = if writes_state { depth + margin } else { depth };
            let (pools, stats, blocking) = rank_stage(config, engine, (active, active), capacity, tick);
            let bounds = pools.iter().map(|l| incremental::full_bound(&l.hits, capacity)).collect();
            let record = IncrementalRecord {
                ranked: "full".into(),
                reason: Some(reason.clone()),
                previous_run_id: None,
                fresh: active.len(),
                settled: 0,
                recomputed: 0,
                shift: 0.0,
                resources_settled: 0,
                resources_recomputed: 0,
                support_shift: 0.0,
                state: writes_state.then_some(held),
            };
            (pools, bounds, stats, blocking, record)
        }
    }
}

/// The ranking pass over `queries`: their pools of `pool_k`, the pass's counters and blocked
/// mode's record.
fn rank_stage(config: &RunConfig, engine: &Engine, (active, queries): (&[PartnerIdx], &[PartnerIdx]), pool_k: usize, tick: &(dyn Fn(u64) + Sync)) -> (Vec<Shortlist>, RankStats, Option<BlockingRecord>) {
    let Some(settings) = &config.blocked else {
        let (pool, stats) = engine.scan().shortlists(queries, pool_k, tick);
        info!(target: "sstc_match::rank", partners = queries.len(), pairs_scored = stats.pairs_scored);
        return (pool, stats, None);
    };
    let probe = (settings.probe > 0).then_some(settings.probe);
    let blocks = Blocks::build(&engine.scorer(), active, settings.max_block, probe);
    let (pool, stats) = Scan::new(engine.scorer(), &engine.rules, Candidates::Blocks(&blocks)).shortlists(queries, pool_k, tick);
    info!(target: "sstc_match::rank", partners = queries.len(), pairs_scored = stats.pairs_scored);
    let tree = &blocks.tree;
    let profiles = engine.profiles();
    let blocking = BlockingRecord {
        leaves: tree.leaves().count(),
        leaf_size: candidates::LEAF,
        split: tree.split,
        probe,
        largest: tree.largest(5).into_iter().map(|(first, members, share)| LargestBlock::of(&profiles[first as usize], members, share)).collect(),
        pairs_per_partner: stats.pairs_scored as f64 / queries.len().max(1) as f64,
        recall_sample: 0,
        recall_at_k: None,
    };
    (pool, stats, Some(blocking))
}

/// Measures blocked lists' recall@k against exact lists on a sample of the active partners
/// (`pool`: every active partner's, in order), into `record`.
fn measure_recall(config: &RunConfig, engine: &Engine, active: &[PartnerIdx], pool: &[Shortlist], record: &mut BlockingRecord) {
    let Some(settings) = &config.blocked else { return };
    let sample = spread(active, settings.recall_sample);
    record.recall_sample = sample.len();
    record.recall_at_k = (!sample.is_empty()).then(|| {
        let (exact, _) = engine.scan().shortlists(&sample, config.top_k, &|_| {});
        let blocked: Vec<Shortlist> = pool.iter().filter(|l| sample.binary_search(&l.partner).is_ok()).map(|l| l.truncated(config.top_k)).collect();
        rank::recall_against(&blocked, &exact)
    });
    if let Some(recall) = record.recall_at_k {
        info!(target: "sstc_match::rank", recall_at_k = recall, "blocked lists against exact lists on a sample");
    }
}

/// The pairs each rule removed, by rule name.
fn removed_by_rule(engine: &Engine, stats: &RankStats) -> BTreeMap<String, u64> {
    engine.rules.names().into_iter().map(String::from).zip(stats.removed_by_rule.iter().copied()).collect()
}

/// The lists a run writes: the plain lists, or the re-ranked ones when re-ranking is on, with
/// the exposure figures of both.
struct Lists {
    plain: Vec<Shortlist>,
    reranked: Option<Vec<Shortlist>>,
    fairness: FairnessRecord,
}

impl Lists {
    /// The lists written.
    fn final_lists(&self) -> &[Shortlist] {
        self.reranked.as_deref().unwrap_or(&self.plain)
    }
}

/// Cuts the pools to `top_k` and, when asked, re-ranks them for fair exposure.
fn rerank_stage(config: &RunConfig, engine: &Engine, pool: Vec<Shortlist>) -> Lists {
    let (features, reference) = (&engine.features, Reference::builtin());
    let plain: Vec<Shortlist> = pool.iter().map(|l| l.truncated(config.top_k)).collect();
    let reranked: Option<Vec<Shortlist>> = config.rerank.is_active().then(|| pool.iter().map(|l| rerank(features, l, config.top_k, &config.rerank)).collect());
    let fairness = FairnessRecord {
        plain: fairness(&plain, features, reference),
        reranked: reranked.as_ref().map(|lists| fairness(lists, features, reference)),
    };
    Lists { plain, reranked, fairness }
}

/// The triad search of this run.
fn triad_search<'e>(settings: TriadSettings, config: &RunConfig, engine: &'e Engine, supporters: &'e Supporters<'e>) -> TriadSearch<'e> {
    TriadSearch {
        scorer: engine.scorer(),
        supporters,
        rules: &engine.rules,
        definition: config.matching.triangular_definition,
        beam: settings.beam,
        thirds: THIRDS_PER_BENEFICIARY,
        per_beneficiary: TRIADS_PER_BENEFICIARY,
        max_per_third: settings.max_per_third,
    }
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
