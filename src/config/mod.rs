//! Checked configuration: each command's flags, resolved once into a typed config.
//!
//! Input: the unchecked clap structs of [`crate::cli`] (and the weights file they name).
//! Output: one checked config per command ([`RunConfig`], [`ExplainConfig`],
//! [`EvaluateConfig`], [`TuneConfig`], [`SensitivityConfig`], [`GroupsConfig`],
//! [`CampaignConfig`], [`ReportConfig`], [`GenerateConfig`], one of them a [`Checked`]), with enum-typed values and
//! every bound checked, so no command sees a flag's text. The matching and run configs derive
//! `Serialize` and `Deserialize`: the manifest records the run's config as it is
//! (`manifest.json` → `config`), and a finished run's settings read back into the same type.
//! Precedence: defaults < weights file < flags.
//!
//! Settings files (`--development-status`, `--actor-compatibility`, `--exclusions`) are
//! inputs: the config holds their paths, and [`crate::engine::Engine::prepare`] reads them
//! (and hashes them into the run id) with the profiles.

pub mod file;
pub mod weights;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cli::{CampaignArgs, Command, DiffArgs, EvaluateArgs, ExplainArgs, GenerateArgs, GroupsArgs, MatchArgs, MergeArgs, Mode, ReportArgs, RunArgs, SensitivityArgs, TuneArgs};
use crate::commands::evaluate::metrics::Metric;
use crate::engine::modality::{Modality, TriangularDefinition};
use crate::engine::rank::rerank::Rerank;
use crate::engine::rules::OptionalRule;
use crate::engine::shard::Shard;
use crate::engine::score::{GeographyKernel, MutualRule, ScoreSettings, Weights};
use crate::io::pairs::{Day, PairWindow};
use crate::io::postgresql::{redact, PgError, PgUrl};
use crate::io::table::{TableFormat, TableSource};

pub use weights::WeightError;

/// Share of the geography term given to "same UN sub-region".
pub const REGION_SHARE: f32 = 0.25;

/// Default distance scale of the geography term, km.
pub const DEFAULT_GEO_SCALE_KM: f32 = 2000.0;

/// Score settings with every default but the weights (tests, benchmarks, library users).
pub fn default_score_settings(weights: Weights) -> ScoreSettings {
    ScoreSettings {
        weights,
        geography: GeographyKernel {
            scale_km: DEFAULT_GEO_SCALE_KM,
            region_share: REGION_SHARE,
        },
        mutual: MutualRule::Harmonic,
        triangular: TriangularDefinition::A,
    }
}

/// A configuration problem (a user error: fix the flags or files).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A weights problem.
    #[error(transparent)]
    Weights(#[from] WeightError),
    /// A flag with an impossible value.
    #[error("--{flag} {value}: {reason}")]
    Flag {
        /// The flag, without dashes.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        reason: String,
    },
    /// A settings file (development status, compatibility table) that cannot be used.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

fn flag_error(flag: &'static str, value: impl ToString, reason: impl ToString) -> ConfigError {
    ConfigError::Flag {
        flag,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A flag's `postgresql://` URL, parsed; an error shows the URL without its password.
fn database_url(flag: &'static str, text: &str) -> Result<PgUrl, ConfigError> {
    PgUrl::parse(text).map_err(|e| match e {
        PgError::Url { url, reason } => flag_error(flag, url, reason),
        other => flag_error(flag, redact(text), other),
    })
}

/// Fails unless `value` is at least `min`.
fn at_least(flag: &'static str, value: usize, min: usize) -> Result<usize, ConfigError> {
    if value < min {
        return Err(flag_error(flag, value, format!("must be at least {min}")));
    }
    Ok(value)
}

/// Fails unless `value` lies in `[0, 1]`.
fn share(flag: &'static str, value: f32) -> Result<f32, ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(flag_error(flag, value, "must be between 0 and 1"));
    }
    Ok(value)
}

/// `--formats`, sorted and without repeats; at least one.
fn formats(given: &[TableFormat]) -> Result<Vec<TableFormat>, ConfigError> {
    let mut formats = given.to_vec();
    formats.sort();
    formats.dedup();
    if formats.is_empty() {
        return Err(flag_error("formats", "", "name csv, parquet or both"));
    }
    Ok(formats)
}

/// Parses `--as-of` (today when absent).
fn as_of(text: Option<&str>) -> Result<Day, ConfigError> {
    match text {
        Some(text) => Day::parse(text).ok_or_else(|| flag_error("as-of", text, "expected a date YYYY-MM-DD")),
        None => Ok(Day::today()),
    }
}

/// Where profiles are read: a file, or a PostgreSQL table or query. Recorded as text (a
/// URL with its password redacted).
#[derive(Clone, Debug, PartialEq)]
pub enum ProfileSource {
    /// A CSV or Parquet file.
    File(PathBuf),
    /// `postgresql://...?table=NAME` or `?query=SELECT...`.
    Database(Box<PgUrl>),
}

impl ProfileSource {
    /// A `--profiles` value: a `postgresql://` URL, else a file path.
    pub fn parse(text: &std::path::Path) -> Result<Self, ConfigError> {
        match text.to_str().filter(|t| PgUrl::is_url(t)) {
            Some(url) => Ok(ProfileSource::Database(Box::new(database_url("profiles", url)?))),
            None => Ok(ProfileSource::File(text.to_path_buf())),
        }
    }

    /// The table to read.
    pub fn table_source(&self) -> TableSource {
        match self {
            ProfileSource::File(path) => TableSource::File(path.clone()),
            ProfileSource::Database(url) => TableSource::Database(url.as_ref().clone()),
        }
    }
}

impl Serialize for ProfileSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ProfileSource::File(path) => path.serialize(serializer),
            ProfileSource::Database(url) => url.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ProfileSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ProfileSource::parse(&PathBuf::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// What and how to match, checked: shared by every command that scores pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// The profile table (`null`: the shipped default set).
    pub profiles: Option<ProfileSource>,
    /// Term weights by name.
    #[serde(with = "weights::by_name")]
    pub weights: Weights,
    /// Geography: distance (km) at which the distance kernel falls to 1/e.
    pub geo_scale_km: f32,
    /// Share of geography given to the same UN sub-region.
    pub geo_region_share: f32,
    /// Theme rarity exponent (0 off, 1 full).
    pub rarity: f32,
    /// How the two directions make `mutual_benefit`.
    pub mutual_rule: MutualRule,
    /// Which triangular definition classifies pairs.
    pub triangular_definition: TriangularDefinition,
    /// Modalities kept (empty: all).
    pub modality: Vec<Modality>,
    /// Optional rules switched off.
    pub disabled_rules: Vec<OptionalRule>,
    /// Pairs not to propose, when given.
    pub exclusions: Option<PairWindow>,
    /// Development status overrides per country, when given.
    pub development_status: Option<PathBuf>,
    /// Actor-type compatibility table replacing the shipped one, when given.
    pub actor_compatibility: Option<PathBuf>,
}

impl MatchConfig {
    /// Checks the matching flags and resolves the weights.
    pub fn resolve(args: &MatchArgs) -> Result<Self, ConfigError> {
        let weights = weights::resolve(args.weights.as_deref(), &args.weight)?;
        if !(args.geo_scale_km.is_finite() && args.geo_scale_km > 0.0) {
            return Err(flag_error("geo-scale-km", args.geo_scale_km, "must be a positive number"));
        }
        if !(0.0..=1.0).contains(&args.rarity) {
            return Err(flag_error("rarity", args.rarity, "must be between 0 (off) and 1 (full)"));
        }
        let exclusions = match &args.exclusions {
            None => None,
            Some(path) => Some(PairWindow {
                path: path.clone(),
                window_days: args.exclusion_days,
                as_of: as_of(args.as_of.as_deref())?,
            }),
        };
        Ok(MatchConfig {
            profiles: args.profiles.as_deref().map(ProfileSource::parse).transpose()?,
            weights,
            geo_scale_km: args.geo_scale_km,
            geo_region_share: REGION_SHARE,
            rarity: args.rarity,
            mutual_rule: args.mutual_rule,
            triangular_definition: args.triangular_definition,
            modality: args.modality.clone(),
            disabled_rules: args.disable_rule.clone(),
            exclusions,
            development_status: args.development_status.clone(),
            actor_compatibility: args.actor_compatibility.clone(),
        })
    }

    /// The scorer's settings.
    pub fn score_settings(&self) -> ScoreSettings {
        ScoreSettings {
            weights: self.weights,
            geography: GeographyKernel {
                scale_km: self.geo_scale_km,
                region_share: self.geo_region_share,
            },
            mutual: self.mutual_rule,
            triangular: self.triangular_definition,
        }
    }
}

/// How a run proposes triads.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriadSettings {
    /// Providers taken from each beneficiary's shortlist.
    pub beam: usize,
    /// The most triads a funder or facilitator without a declared capacity is proposed in.
    pub max_per_third: usize,
}

/// [`RunConfig::triads`] as written now, or as `triads_beam` was written before.
fn triads_or_beam<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<TriadSettings>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Settings(TriadSettings),
        Beam(usize),
    }
    Ok(Option::<Written>::deserialize(deserializer)?.map(|written| match written {
        Written::Settings(settings) => settings,
        Written::Beam(beam) => TriadSettings { beam, max_per_third: usize::MAX },
    }))
}

/// Everything a run needs, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// What and how to match.
    pub matching: MatchConfig,
    /// Output directory.
    pub out: PathBuf,
    /// The run tonight's lists are compared with (`null`: the one in `out`, if any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PathBuf>,
    /// `--incremental`: rank from the previous run's state, and write the state.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incremental: bool,
    /// Where fitted centroids are also saved, and read with `reuse_model`.
    pub model_dir: Option<PathBuf>,
    /// Read centroids instead of fitting.
    pub reuse_model: bool,
    /// The largest share of rejected input rows a published run may have.
    pub max_reject_share: f32,
    /// Worker threads.
    pub threads: usize,
    /// k-means seed.
    pub seed: u64,
    /// Candidates per partner.
    pub top_k: usize,
    /// Clusters (`null`: chosen from the number of partners).
    pub clusters: Option<usize>,
    /// Blocked mode settings (`null`: exact mode).
    pub blocked: Option<BlockedMode>,
    /// Re-ranking for fair exposure.
    pub rerank: Rerank,
    /// Funders and facilitators per partner in need in resources.csv (0 in runs made before
    /// resource lists existed).
    #[serde(default)]
    pub resource_k: usize,
    /// The triads (`null`: none written). Runs made before triads were on by default wrote
    /// `triads_beam` (a beam, or `null`), read here with no limit per third.
    #[serde(default, alias = "triads_beam", deserialize_with = "triads_or_beam")]
    pub triads: Option<TriadSettings>,
    /// Where to export the inner-product part of the score (`null`: not exported).
    pub export_matrices: Option<PathBuf>,
    /// The formats of the shortlist, resources and triads tables, sorted; left out of the
    /// manifest when both (the default, and what runs made before `--formats` wrote).
    #[serde(default = "both_formats", skip_serializing_if = "is_both_formats")]
    pub formats: Vec<TableFormat>,
    /// The PostgreSQL schema the run's tables are also written into, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<SinkConfig>,
    /// `--max-runtime`, in seconds: the run stops unpublished past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runtime_seconds: Option<u64>,
    /// `--shard`: the shard of the partners this run computes (`null`: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Every setting as the config file writes it (flags > `--config` file > defaults), so
    /// that the run can be repeated with `--config`; filled by the command line's reader.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub settings: toml::Table,
}

fn both_formats() -> Vec<TableFormat> {
    TableFormat::ALL.to_vec()
}

fn is_both_formats(formats: &[TableFormat]) -> bool {
    formats == TableFormat::ALL
}

/// Where and how a run's tables also go into PostgreSQL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// `postgresql://...?schema=NAME`.
    pub url: Box<PgUrl>,
    /// Published runs the schema keeps.
    pub keep_runs: usize,
}

/// Settings of blocked mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedMode {
    /// Candidates each partner scans at most (0: until its list is proven exact).
    pub probe: usize,
    /// Cut country blocks larger than this into pieces.
    pub max_block: Option<usize>,
    /// Partners checked against exact lists.
    pub recall_sample: usize,
}

impl RunConfig {
    /// Checks the flags and resolves the weights.
    pub fn resolve(args: &RunArgs) -> Result<Self, ConfigError> {
        if args.clusters == Some(0) {
            return Err(flag_error("clusters", 0, "must be at least 1"));
        }
        if let (true, Some(shard)) = (args.incremental, args.shard) {
            return Err(flag_error("incremental", shard, "an incremental night runs on one machine: leave out --shard"));
        }
        Ok(RunConfig {
            matching: MatchConfig::resolve(&args.matching)?,
            out: args.out.clone(),
            previous: args.previous.clone(),
            incremental: args.incremental,
            model_dir: args.model_dir.clone(),
            reuse_model: args.reuse_model,
            max_reject_share: share("max-reject-share", args.max_reject_share)?,
            threads: threads(args.threads)?,
            seed: args.seed,
            top_k: at_least("top-k", args.top_k, 1)?,
            clusters: args.clusters,
            blocked: (args.mode == Mode::Blocked).then(|| BlockedMode {
                probe: args.probe,
                max_block: (args.max_block > 0).then_some(args.max_block),
                recall_sample: args.recall_sample,
            }),
            rerank: Rerank {
                lambda: share("diversity", args.diversity)?,
                min_region_share: share("min-region-share", args.min_region_share)?,
            },
            resource_k: args.resource_k,
            triads: (!args.no_triads).then_some(TriadSettings { beam: args.beam.max(1), max_per_third: args.max_triads_per_third }),
            export_matrices: args.export_matrices.clone(),
            formats: formats(&args.formats)?,
            sink: args
                .sink
                .as_deref()
                .map(|url| Ok::<_, ConfigError>(SinkConfig { url: Box::new(database_url("sink", url)?), keep_runs: at_least("keep-runs", args.keep_runs, 1)? }))
                .transpose()?,
            max_runtime_seconds: args.max_runtime.map(|d| d.as_secs().max(1)),
            shard: args.shard,
            settings: toml::Table::new(),
        })
    }

    /// The settings that decide the run's results, for its id: everything but where files
    /// are read and written, how many threads ran, when a run is refused, which shard ran and
    /// whether it ranked incrementally (none of which changes a result: the shards of a
    /// night share the run's id, and an incremental night's lists are a full run's).
    pub fn identity(&self) -> RunConfig {
        RunConfig {
            matching: MatchConfig { profiles: None, ..self.matching.clone() },
            out: PathBuf::new(),
            previous: None,
            incremental: false,
            model_dir: None,
            threads: 0,
            max_reject_share: 0.0,
            export_matrices: None,
            formats: both_formats(),
            sink: None,
            max_runtime_seconds: None,
            shard: None,
            settings: toml::Table::new(),
            ..self.clone()
        }
    }
}

/// `merge`, checked.
pub struct MergeConfig {
    /// The shard directories.
    pub shards: Vec<PathBuf>,
    /// Output directory of the merged run.
    pub out: PathBuf,
    /// Worker threads.
    pub threads: usize,
}

impl MergeConfig {
    /// Checks the flags.
    pub fn resolve(args: &MergeArgs) -> Result<Self, ConfigError> {
        Ok(MergeConfig { shards: args.shards.clone(), out: args.out.clone(), threads: threads(args.threads)? })
    }
}

/// `--threads`, checked: at least 1 (default: all cores).
fn threads(flag: Option<usize>) -> Result<usize, ConfigError> {
    if flag == Some(0) {
        return Err(flag_error("threads", 0, "must be at least 1"));
    }
    Ok(flag.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// `explain`, checked.
pub struct ExplainConfig {
    /// What and how to match.
    pub matching: MatchConfig,
    /// The partner whose list is explained.
    pub partner: String,
    /// The candidate.
    pub candidate: String,
    /// List length.
    pub top_k: usize,
    /// With `--run`: the run's id and its input's content digest, to say when the profiles
    /// changed since.
    pub run: Option<(String, String)>,
}

impl ExplainConfig {
    /// Checks the flags, or takes the settings of the run `--run` names.
    pub fn resolve(args: &ExplainArgs) -> Result<Self, ConfigError> {
        let (partner, candidate) = (args.partner.clone(), args.candidate.clone());
        let Some(dir) = &args.run else {
            return Ok(ExplainConfig { matching: MatchConfig::resolve(&args.matching)?, partner, candidate, top_k: at_least("top-k", args.top_k, 1)?, run: None });
        };
        let run = crate::io::run_dir::RunDir::open(dir).map_err(|e| ConfigError::File { path: dir.display().to_string(), reason: e.to_string() })?;
        let manifest = run.manifest;
        Ok(ExplainConfig {
            matching: manifest.config.matching,
            partner,
            candidate,
            top_k: manifest.config.top_k,
            run: Some((manifest.run_id, manifest.input.content_digest)),
        })
    }
}

/// What `evaluate` scores: a finished run, or lists computed here.
pub enum Evaluated {
    /// The shortlists of a run directory.
    Run(PathBuf),
    /// Lists computed from profiles and settings, next to a baseline.
    Matching(MatchConfig),
}

/// `evaluate`, checked.
pub struct EvaluateConfig {
    /// Known partnerships.
    pub known: PathBuf,
    /// What is evaluated.
    pub evaluated: Evaluated,
    /// The list length of the metrics.
    pub k: usize,
}

impl EvaluateConfig {
    /// Checks the flags.
    pub fn resolve(args: &EvaluateArgs) -> Result<Self, ConfigError> {
        Ok(EvaluateConfig {
            known: args.known.clone(),
            evaluated: match &args.run {
                Some(dir) => Evaluated::Run(dir.clone()),
                None => Evaluated::Matching(MatchConfig::resolve(&args.matching)?),
            },
            k: at_least("top-k", args.k, 1)?,
        })
    }
}

/// `tune`, checked.
pub struct TuneConfig {
    /// Profiles and the settings kept fixed.
    pub matching: MatchConfig,
    /// Known partnerships.
    pub known: PathBuf,
    /// Where the weights file goes.
    pub out: PathBuf,
    /// The metric maximised.
    pub metric: Metric,
    /// Its list length.
    pub k: usize,
    /// Folds of the cross-validation.
    pub folds: usize,
    /// Random weightings tried.
    pub trials: usize,
    /// Seed of the search and the folds.
    pub seed: u64,
}

impl TuneConfig {
    /// Checks the flags; the weights file defaults to `models/weights-<name>.toml`.
    pub fn resolve(args: &TuneArgs) -> Result<Self, ConfigError> {
        Ok(TuneConfig {
            matching: MatchConfig::resolve(&args.matching)?,
            known: args.known.clone(),
            out: args.out.clone().unwrap_or_else(|| PathBuf::from(format!("models/weights-{}.toml", args.name))),
            metric: args.metric,
            k: at_least("top-k", args.k, 1)?,
            folds: at_least("folds", args.folds, 2)?,
            trials: args.trials,
            seed: args.seed,
        })
    }
}

/// `sensitivity`, checked.
pub struct SensitivityConfig {
    /// Profiles and the weighting probed.
    pub matching: MatchConfig,
    /// How far each weight moves.
    pub delta: f32,
    /// List length.
    pub top_k: usize,
    /// Partners probed (`None`: every active partner).
    pub sample: Option<usize>,
}

impl SensitivityConfig {
    /// Checks the flags.
    pub fn resolve(args: &SensitivityArgs) -> Result<Self, ConfigError> {
        if !(args.delta.is_finite() && args.delta > 0.0) {
            return Err(flag_error("delta", args.delta, "must be a positive number"));
        }
        Ok(SensitivityConfig {
            matching: MatchConfig::resolve(&args.matching)?,
            delta: args.delta,
            top_k: at_least("top-k", args.top_k, 1)?,
            sample: args.sample.map(|n| at_least("sample", n, 1)).transpose()?,
        })
    }
}

/// What a group is built around.
pub enum Anchor {
    /// A partner, by id.
    Partner(String),
    /// A theme, by id.
    Theme(String),
}

/// `groups`, checked.
pub struct GroupsConfig {
    /// Profiles and settings.
    pub matching: MatchConfig,
    /// The anchor.
    pub anchor: Anchor,
    /// For a theme: the UN region members must be in.
    pub region: Option<String>,
    /// Look beyond the anchor partner's region.
    pub worldwide: bool,
    /// Members of a multi-stakeholder group.
    pub size: usize,
}

impl GroupsConfig {
    /// Checks the flags: an anchor, and a group size a multi-stakeholder partnership can
    /// have (a workers' and an employers' organisation and two other groups).
    pub fn resolve(args: &GroupsArgs) -> Result<Self, ConfigError> {
        let anchor = match (&args.partner, &args.theme) {
            (Some(id), _) => Anchor::Partner(id.clone()),
            (None, Some(theme)) => Anchor::Theme(theme.clone()),
            (None, None) => return Err(flag_error("partner", "", "give --partner ID or --theme THEME")),
        };
        Ok(GroupsConfig {
            matching: MatchConfig::resolve(&args.matching)?,
            anchor,
            region: args.region.clone(),
            worldwide: args.worldwide,
            size: at_least("size", args.size, 4)?,
        })
    }
}

/// `campaign`, checked.
pub struct CampaignConfig {
    /// The run directory the proposals come from.
    pub run: PathBuf,
    /// Where `campaign.csv` and `campaign.json` go.
    pub out: PathBuf,
    /// The campaign's id.
    pub campaign_id: String,
    /// Pairs contacted recently, when given.
    pub suppress: Option<PairWindow>,
    /// Rows above which the allocation is greedy.
    pub exact_limit: usize,
    /// Allocate the run's triads too, before its pairs.
    pub triads: bool,
    /// Propose only the pairs that entered their list since the run's previous night.
    pub new_only: bool,
}

impl CampaignConfig {
    /// Checks the flags.
    pub fn resolve(args: &CampaignArgs) -> Result<Self, ConfigError> {
        let as_of = as_of(args.as_of.as_deref())?;
        Ok(CampaignConfig {
            run: args.run.clone(),
            out: args.out.clone(),
            campaign_id: args.campaign_id.clone(),
            suppress: args.suppress.as_ref().map(|path| PairWindow { path: path.clone(), window_days: args.suppress_days, as_of }),
            exact_limit: args.exact_limit,
            triads: args.triads,
            new_only: args.new_only,
        })
    }
}

/// `report`, checked.
pub struct ReportConfig {
    /// The run directory.
    pub run: PathBuf,
    /// Known partnerships, for evaluation figures.
    pub known: Option<PathBuf>,
    /// The previous night's run, for what changed.
    pub previous: Option<PathBuf>,
}

impl ReportConfig {
    /// Checks the flags.
    pub fn resolve(args: &ReportArgs) -> Self {
        ReportConfig { run: args.run.clone(), known: args.known.clone(), previous: args.previous.clone() }
    }
}

/// `diff`, checked.
pub struct DiffConfig {
    /// The earlier run.
    pub old: PathBuf,
    /// The later run.
    pub new: PathBuf,
}

impl DiffConfig {
    /// Checks the flags.
    pub fn resolve(args: &DiffArgs) -> Self {
        DiffConfig { old: args.old.clone(), new: args.new.clone() }
    }
}

/// `generate`, checked.
#[derive(Clone, Debug)]
pub struct GenerateConfig {
    /// Synthetic profiles.
    pub n: usize,
    /// Seed.
    pub seed: u64,
    /// Output file, `.csv` or `.parquet`.
    pub out: PathBuf,
    /// Put the 17 real country profiles first.
    pub with_seed_countries: bool,
}

impl GenerateConfig {
    /// Checks the flags.
    pub fn resolve(args: &GenerateArgs) -> Self {
        GenerateConfig { n: args.n, seed: args.seed, out: args.out.clone(), with_seed_countries: args.with_seed_countries }
    }
}

/// A command with its flags checked: what the binary runs.
pub enum Checked {
    /// `run`.
    Run(RunConfig),
    /// `merge`.
    Merge(MergeConfig),
    /// `config`: the run that the same flags would make.
    Config(RunConfig),
    /// `completions`.
    Completions(clap_complete::Shell),
    /// `man`.
    Man,
    /// `explain`.
    Explain(ExplainConfig),
    /// `evaluate`.
    Evaluate(EvaluateConfig),
    /// `tune`.
    Tune(TuneConfig),
    /// `sensitivity`.
    Sensitivity(SensitivityConfig),
    /// `diff`.
    Diff(DiffConfig),
    /// `groups`.
    Groups(GroupsConfig),
    /// `campaign`.
    Campaign(CampaignConfig),
    /// `report`.
    Report(ReportConfig),
    /// `generate`.
    Generate(GenerateConfig),
}

impl Checked {
    /// Checks a parsed command's flags (reading the weights file it names).
    pub fn resolve(command: &Command) -> Result<Self, ConfigError> {
        Ok(match command {
            Command::Run(args) => Checked::Run(RunConfig::resolve(args)?),
            Command::Merge(args) => Checked::Merge(MergeConfig::resolve(args)?),
            Command::Config(args) => Checked::Config(RunConfig::resolve(args)?),
            Command::Completions(args) => Checked::Completions(args.shell),
            Command::Man => Checked::Man,
            Command::Explain(args) => Checked::Explain(ExplainConfig::resolve(args)?),
            Command::Evaluate(args) => Checked::Evaluate(EvaluateConfig::resolve(args)?),
            Command::Tune(args) => Checked::Tune(TuneConfig::resolve(args)?),
            Command::Sensitivity(args) => Checked::Sensitivity(SensitivityConfig::resolve(args)?),
            Command::Diff(args) => Checked::Diff(DiffConfig::resolve(args)),
            Command::Groups(args) => Checked::Groups(GroupsConfig::resolve(args)?),
            Command::Campaign(args) => Checked::Campaign(CampaignConfig::resolve(args)?),
            Command::Report(args) => Checked::Report(ReportConfig::resolve(args)),
            Command::Generate(args) => Checked::Generate(GenerateConfig::resolve(args)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn the_flags_defaults_are_the_engines() {
        let Command::Run(args) = Cli::parse_from(["sstc-match", "run"]).command else { panic!("run") };
        let config = RunConfig::resolve(&args).unwrap();
        assert_eq!(config.matching.score_settings(), default_score_settings(weights::default_weights()));
    }

    #[test]
    fn a_run_config_survives_the_manifest() {
        let Command::Run(args) = Cli::parse_from(["sstc-match", "run", "--mode", "blocked", "--modality", "south-south", "--weight", "values=0.4", "--exclusions", "x.csv", "--as-of", "2026-11-23"]).command else { panic!("run") };
        let config = RunConfig::resolve(&args).unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""modality":["south_south"]"#) && json.contains(r#""as_of":"2026-11-23""#), "{json}");
        assert_eq!(serde_json::from_str::<RunConfig>(&json).unwrap(), config);
    }

    #[test]
    fn a_manifest_written_before_triads_were_on_by_default_reads_back() {
        let Command::Run(args) = Cli::parse_from(["sstc-match", "run"]).command else { panic!("run") };
        let mut config = serde_json::to_value(RunConfig::resolve(&args).unwrap()).unwrap();
        let fields = config.as_object_mut().unwrap();
        fields.remove("triads");
        for (written, read) in [(serde_json::json!(5), Some(TriadSettings { beam: 5, max_per_third: usize::MAX })), (serde_json::Value::Null, None)] {
            fields.insert("triads_beam".into(), written);
            assert_eq!(serde_json::from_value::<RunConfig>(serde_json::Value::Object(fields.clone())).unwrap().triads, read);
        }
    }
}
