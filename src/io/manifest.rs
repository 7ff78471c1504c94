//! The run manifest (`manifest.json`, written last): enough to reproduce and explain a run.
//!
//! Input: what the pipeline measured and resolved. Output: a serde-serialisable
//! [`RunManifest`]. Two runs with the same input, config and seed have the same `run_id`;
//! only times, `threads` and `peak_rss_mb` may differ between them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::RunConfig;

/// Everything recorded about one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Deterministic id: a hash of the input, the configuration and the engine version.
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the outputs were published.
    pub finished_at: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from ("unknown" outside a checkout).
    pub git_commit: String,
    /// The profile table.
    pub input: InputRecord,
    /// Resolved configuration, weights included.
    pub config: RunConfig,
    /// The cluster model used.
    pub model: ModelRecord,
    /// Counts of rows, partners, pairs.
    pub counts: Counts,
    /// Blocked mode's diagnostics, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocking: Option<BlockingRecord>,
    /// How exposure is spread: for the plain lists, and for the re-ranked ones when
    /// `--diversity` or `--min-region-share` re-ranked them.
    pub fairness: FairnessRecord,
    /// What the exclusions table did, when one was given.
    pub exclusions: Option<crate::engine::rules::exclusions::ExclusionStats>,
    /// Seconds per pipeline stage, in pipeline order.
    pub timings: Vec<StageTiming>,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mb: f64,
    /// sha256 of every output file (the manifest aside).
    pub outputs: BTreeMap<String, String>,
    /// The process exit code this run maps to (0 clean, 1 rows rejected).
    pub exit_code: i32,
    /// The shards a merged run was made from (none for a run on one machine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRecord>,
    /// What changed in the lists since the previous run (`changes.csv`); absent on a first
    /// night.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeCounts>,
    /// With `--incremental`: how the night ranked and the state it leaves for the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalRecord>,
}

/// How an `--incremental` night ranked, and the state it wrote for the next one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalRecord {
    /// `incremental` (from the previous run's state) or `full`.
    pub ranked: String,
    /// Why the night ranked in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run whose state was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_run_id: Option<String>,
    /// Active partners new, changed or reactivated since that run, or in a pair whose dated
    /// exclusion began or ended since: ranked in full.
    pub fresh: usize,
    /// Kept partners whose lists were settled from the previous pools and the fresh
    /// candidates.
    pub settled: usize,
    /// Partners unchanged whose lists could change beyond their pools: ranked in full.
    pub recomputed: usize,
    /// The bound on how far the score of two unchanged partners moved between the nights.
    pub shift: f32,
    /// Resource lists of unchanged partners settled from the previous resource pools and the
    /// new or changed supporters.
    #[serde(default)]
    pub resources_settled: usize,
    /// Resource lists made in full: of new or changed partners, and of unchanged ones that
    /// could change beyond their pools.
    #[serde(default)]
    pub resources_recomputed: usize,
    /// The bound on how far the support of an unchanged supporter for an unchanged partner
    /// moved between the nights.
    #[serde(default)]
    pub support_shift: f32,
    /// The state written for the next night; `None` when none could be (blocked mode with a
    /// probe limit).
    pub state: Option<IncrementalState>,
}

/// What the next incremental night needs besides the state files: the pools' depth (the
/// lists' length the run ranks, then the margin) and the theme rarity weights of the night.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalState {
    /// Candidates of a pool that must be exact (the run's pool: k, or 3k when re-ranking).
    pub depth: usize,
    /// Candidates kept beyond them, so that a list can stand when some leave.
    pub margin: usize,
    /// Each theme's rarity weight, by theme index.
    pub theme_weights: Vec<f32>,
}

/// The lists compared with the previous run's: the counts of `changes.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// The run compared with.
    pub previous_run_id: String,
    /// Its directory.
    pub previous_dir: String,
    /// Partners with a list on both nights.
    pub lists_compared: usize,
    /// Of those, lists in which a candidate entered, left or moved.
    pub lists_changed: usize,
    /// Partners with a list tonight only (each of its rows entered).
    pub lists_added: usize,
    /// Partners with a list the previous night only (each of its rows left).
    pub lists_dropped: usize,
    /// Rows `entered`: a candidate on a list tonight that was not on it the previous night.
    pub entered: usize,
    /// Rows `left`: a candidate on a list the previous night that is not on it tonight.
    pub left: usize,
    /// Rows `moved`: a candidate on the list both nights, at another rank.
    pub moved: usize,
}

/// One shard of a merged run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Which shard, as `I/N`.
    pub shard: String,
    /// Its directory.
    pub dir: String,
    /// When it started and was published.
    pub started_at: String,
    /// When it was published.
    pub finished_at: String,
    /// Its active partners.
    pub partners: usize,
    /// Seconds per stage.
    pub timings: Vec<StageTiming>,
    /// Its peak resident memory, MiB.
    pub peak_rss_mb: f64,
}

/// The input table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRecord {
    /// Path or built-in name.
    pub path: String,
    /// sha256 of its bytes.
    pub sha256: String,
    /// Order-independent digest of its rows (what the run id is built from).
    pub content_digest: String,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows rejected.
    pub rows_rejected: usize,
    /// Problems found (a rejected row may have several).
    pub problems: usize,
    /// Columns present but not in the contract (ignored).
    pub ignored_columns: Vec<String>,
    /// Settings files read besides the profiles.
    pub settings_files: Vec<SettingsFile>,
    /// How the profile table was read, where it was not plain comma-separated UTF-8 (a
    /// sniffed separator, CR line endings).
    pub notes: Vec<String>,
}

/// A settings file read besides the profiles (its content is part of the run id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingsFile {
    /// The flag that named it, without dashes.
    pub flag: String,
    /// Its path.
    pub path: String,
    /// sha256 of its bytes.
    pub sha256: String,
}

/// The cluster model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The centroids file read with `--reuse-model` (`null`: fitted by this run).
    pub reused_from: Option<String>,
    /// Where the fitted centroids were also saved (`--model-dir`; `null`: only in the run).
    pub saved_to: Option<String>,
    /// What the model was fitted on (`null`: no model, no valid profile).
    pub fitted_on: Option<crate::engine::cluster::store::FittedOn>,
    /// Clusters.
    pub k: usize,
    /// Rows the fit saw.
    pub trained_on: usize,
    /// Mean squared distance of training rows to their centroid.
    pub inertia: f32,
    /// How the clusters continue the previous run's (absent without one, or with
    /// `--reuse-model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuity: Option<Continuity>,
}

/// Tonight's clusters against the previous run's centroids, on tonight's fit sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Continuity {
    /// The run whose centroids were compared.
    pub previous_run_id: String,
    /// `kept`: its centroids, which explain tonight's sample about as well as a refit does;
    /// `refitted`: the refit, its clusters numbered after the previous centroids they are
    /// closest to.
    pub decision: String,
    /// Mean squared distance of tonight's sample to the previous centroids.
    pub inertia_previous: f32,
    /// The same to tonight's refit.
    pub inertia_refit: f32,
}

/// Counts of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Valid profiles.
    pub profiles: usize,
    /// Active partners (each gets a shortlist).
    pub active_partners: usize,
    /// Partners whose shortlist has at least one candidate.
    pub shortlists: usize,
    /// Rows in shortlist.csv.
    pub shortlist_rows: usize,
    /// Candidate pairs scored.
    pub pairs_scored: u64,
    /// Pairs removed before scoring, per rule name.
    pub pairs_removed_by_rule: BTreeMap<String, u64>,
    /// Links between likely duplicate records (rows of duplicates.csv).
    #[serde(default)]
    pub duplicate_links: usize,
    /// Records that are likely duplicates of another.
    #[serde(default)]
    pub duplicate_records: usize,
    /// Funders and facilitators (active, backing some theme).
    #[serde(default)]
    pub supporters: usize,
    /// Supporters without a `funds` column, whose `offers` stand for what they support.
    #[serde(default)]
    pub supporters_backing_offers: usize,
    /// Rows in resources.csv.
    #[serde(default)]
    pub resource_rows: usize,
}

/// Wall time of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// Stage name.
    pub stage: String,
    /// Seconds.
    pub seconds: f64,
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

/// What blocked mode did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockingRecord {
    /// Leaf blocks of the tree.
    pub leaves: usize,
    /// Partners per leaf block at most.
    pub leaf_size: usize,
    /// Country blocks cut into pieces for exceeding `max_block`.
    pub split: usize,
    /// Candidates each partner scanned at most (`null`: until its list was proven exact).
    pub probe: Option<usize>,
    /// The five largest country blocks.
    pub largest: Vec<LargestBlock>,
    /// Pairs scored per partner, on average (exact mode scores every active candidate).
    pub pairs_per_partner: f64,
    /// Partners whose lists were checked against exact ones.
    pub recall_sample: usize,
    /// Mean recall@k of blocked lists against exact lists on that sample.
    pub recall_at_k: Option<f64>,
}

/// One block of a country's partners of one actor type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LargestBlock {
    /// ISO 3166 alpha-3 code of the country.
    pub country: String,
    /// Actor type id.
    pub actor_type: String,
    /// Active partners in it.
    pub members: usize,
    /// Its share of Σ size² over country blocks: of all pairs within blocks, the share it holds.
    pub share_of_pairs: f64,
}

impl LargestBlock {
    /// The block whose first member is `first`.
    pub fn of(first: &crate::engine::profile::Profile, members: usize, share_of_pairs: f64) -> Self {
        let reference = crate::engine::reference::Reference::builtin();
        LargestBlock {
            country: reference.countries[first.country as usize].iso3.clone(),
            actor_type: reference.actor_types.id(first.actor_type as usize).to_string(),
            members,
            share_of_pairs,
        }
    }
}

/// Fair-exposure figures before and after re-ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessRecord {
    /// The lists ranked by score alone.
    pub plain: crate::engine::fairness::Fairness,
    /// The lists after re-ranking, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reranked: Option<crate::engine::fairness::Fairness>,
}
