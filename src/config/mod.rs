//! Checked configuration of a run.
//!
//! Input: the unchecked [`RunArgs`] from the command line (and the weights file they name).
//! Output: a [`RunConfig`] holding resolved, validated values, and its serialisable
//! [`ResolvedConfig`] form that goes into the manifest. Precedence: defaults < weights file <
//! flags.

pub mod weights;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{MatchArgs, RunArgs};
use crate::engine::modality::{Modality, TriangularDefinition};
use crate::engine::reference::{compatibility_table, default_profiles, Reference};
use crate::engine::rules::exclusions::parse_day;
use crate::engine::rules::{ExclusionSettings, OPTIONAL_RULES};
use crate::engine::score::{GeographyKernel, MutualRule, ScoreSettings};
use crate::io::table::{StringTable, TableSource};

pub use weights::WeightError;

/// Share of the geography term given to "same UN sub-region".
pub const REGION_SHARE: f32 = 0.25;

/// Default distance scale of the geography term, km.
pub const DEFAULT_GEO_SCALE_KM: f32 = 2000.0;

/// Score settings with every default but the weights (tests, benchmarks, library users).
pub fn default_score_settings(weights: crate::engine::score::Weights) -> ScoreSettings {
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

/// What and how to match, checked: shared by `run` and `explain`.
#[derive(Clone, Debug)]
pub struct MatchConfig {
    /// The profile table.
    pub profiles: TableSource,
    /// Weights, geography kernel, mutual-benefit rule, triangular definition.
    pub score: ScoreSettings,
    /// Theme rarity exponent.
    pub rarity: f32,
    /// Modalities kept (empty: all).
    pub modality: Vec<Modality>,
    /// Optional rules switched off.
    pub disabled_rules: Vec<String>,
    /// Exclusions, when given.
    pub exclusions: Option<ExclusionSettings>,
    /// Development status per country index (true = South), from `--development-status`.
    pub development_overrides: HashMap<u16, bool>,
    /// The `--development-status` file, when given.
    pub development_status_file: Option<PathBuf>,
    /// Actor-type compatibility, row-major.
    pub actor_compatibility: Vec<f32>,
    /// The `--actor-compatibility` file, when given.
    pub actor_compatibility_file: Option<PathBuf>,
}

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// What and how to match.
    pub matching: MatchConfig,
    /// Output directory.
    pub out_dir: PathBuf,
    /// Where centroids are saved and read.
    pub model_dir: PathBuf,
    /// Read centroids instead of fitting.
    pub reuse_model: bool,
    /// Worker threads.
    pub threads: usize,
    /// k-means seed.
    pub seed: u64,
    /// Candidates per partner.
    pub top_k: usize,
    /// Clusters (None: chosen from the number of partners).
    pub clusters: Option<usize>,
    /// Blocked mode settings; `None` for exact mode.
    pub blocked: Option<BlockedMode>,
    /// Re-ranking for fair exposure.
    pub rerank: crate::engine::rank::rerank::Rerank,
    /// Triad search beam width, when triads are asked for.
    pub triads: Option<usize>,
    /// Where to export the inner-product part of the score, when asked.
    pub export_matrices: Option<PathBuf>,
}

/// Settings of blocked mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockedMode {
    /// Leaf blocks each partner scans at most (0: until its list is proven exact).
    pub probe: usize,
    /// Cut country blocks larger than this into pieces.
    pub max_block: Option<usize>,
    /// Partners checked against exact lists.
    pub recall_sample: usize,
}

/// The manifest's record of a configuration.
#[derive(Clone, Debug, Serialize)]
pub struct ResolvedConfig {
    /// The profile table as named on the command line (or the built-in set).
    pub profiles: String,
    /// Model directory.
    pub model_dir: String,
    /// Whether centroids were reused.
    pub reuse_model: bool,
    /// Worker threads.
    pub threads: usize,
    /// k-means seed.
    pub seed: u64,
    /// Candidates per partner.
    pub top_k: usize,
    /// Clusters actually used.
    pub clusters: usize,
    /// Term weights by name.
    pub weights: BTreeMap<String, f32>,
    /// Geography kernel scale, km.
    pub geo_scale_km: f32,
    /// Share of geography given to same sub-region.
    pub geo_region_share: f32,
    /// Theme rarity exponent.
    pub rarity: f32,
    /// Mutual-benefit rule.
    pub mutual_rule: String,
    /// Triangular definition (a, b or c).
    pub triangular_definition: String,
    /// Modalities kept (empty: all).
    pub modality: Vec<String>,
    /// Rules in force, in checking order.
    pub rules: Vec<String>,
    /// Exclusions file, window and as-of date, when given.
    pub exclusions: Option<String>,
    /// Development-status override file, when given.
    pub development_status: Option<String>,
    /// Actor-compatibility file, when given (else the shipped table).
    pub actor_compatibility: Option<String>,
    /// Blocked mode settings (absent: exact mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<BlockedMode>,
    /// Re-ranking settings (absent: plain ranking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<crate::engine::rank::rerank::Rerank>,
    /// Triad beam width (absent: no triads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triads_beam: Option<usize>,
    /// Where the inner-product part of the score was exported (absent: not exported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_matrices: Option<String>,
}

impl MatchConfig {
    /// Checks the matching flags, resolves weights and reads the settings files.
    pub fn resolve(args: &MatchArgs) -> Result<Self, ConfigError> {
        let reference = Reference::builtin();
        let weights = weights::resolve(args.weights.as_deref(), &args.weight)?;
        if !(args.geo_scale_km.is_finite() && args.geo_scale_km > 0.0) {
            return Err(flag_error("geo-scale-km", args.geo_scale_km, "must be a positive number"));
        }
        if !(0.0..=1.0).contains(&args.rarity) {
            return Err(flag_error("rarity", args.rarity, "must be between 0 (off) and 1 (full)"));
        }
        let mutual = MutualRule::ALL
            .into_iter()
            .find(|r| r.name() == args.mutual_rule)
            .ok_or_else(|| flag_error("mutual-rule", &args.mutual_rule, "harmonic, min, mean or max"))?;
        let triangular = match args.triangular_definition.to_ascii_lowercase().as_str() {
            "a" => TriangularDefinition::A,
            "b" => TriangularDefinition::B,
            "c" => TriangularDefinition::C,
            other => return Err(flag_error("triangular-definition", other, "a, b or c")),
        };
        let modality = args
            .modality
            .iter()
            .map(|name| {
                Modality::from_name(name).ok_or_else(|| {
                    let valid: Vec<&str> = Modality::ALL.iter().map(|m| m.name()).collect();
                    flag_error("modality", name, format!("valid modalities: {}", valid.join(", ")))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for rule in &args.disable_rule {
            if !OPTIONAL_RULES.contains(&rule.as_str()) {
                return Err(flag_error(
                    "disable-rule",
                    rule,
                    format!("rules that can be switched off: {}", OPTIONAL_RULES.join(", ")),
                ));
            }
        }
        let exclusions = match &args.exclusions {
            None => None,
            Some(path) => Some(ExclusionSettings {
                path: path.clone(),
                window_days: args.exclusion_days,
                as_of_days: match &args.as_of {
                    Some(date) => parse_day(date)
                        .ok_or_else(|| flag_error("as-of", date, "expected YYYY-MM-DD"))?,
                    None => today(),
                },
            }),
        };
        let actor_compatibility = match &args.actor_compatibility {
            None => reference.actor_compatibility.clone(),
            Some(path) => compatibility_table(&TableSource::File(path.clone()), &reference.actor_types)
                .map_err(|reason| ConfigError::File {
                    path: path.display().to_string(),
                    reason,
                })?,
        };
        let development_overrides = match &args.development_status {
            None => HashMap::new(),
            Some(path) => development_overrides(path, reference)?,
        };
        Ok(MatchConfig {
            profiles: match &args.profiles {
                Some(path) => TableSource::File(path.clone()),
                None => default_profiles(),
            },
            score: ScoreSettings {
                weights,
                geography: GeographyKernel {
                    scale_km: args.geo_scale_km,
                    region_share: REGION_SHARE,
                },
                mutual,
                triangular,
            },
            rarity: args.rarity,
            modality,
            disabled_rules: args.disable_rule.clone(),
            exclusions,
            development_overrides,
            development_status_file: args.development_status.clone(),
            actor_compatibility,
            actor_compatibility_file: args.actor_compatibility.clone(),
        })
    }
}

/// Days since 1970-01-01, today (UTC).
fn today() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (seconds / 86_400) as i64
}

fn development_overrides(path: &Path, reference: &Reference) -> Result<HashMap<u16, bool>, ConfigError> {
    let name = path.display().to_string();
    let file_error = |reason: String| ConfigError::File {
        path: name.clone(),
        reason,
    };
    let table = StringTable::read(&TableSource::File(path.to_path_buf()))
        .map_err(|e| file_error(e.to_string()))?;
    let (Some(country), Some(status)) = (table.position("country_iso3"), table.position("status")) else {
        return Err(file_error("needs columns country_iso3 and status (south or north)".into()));
    };
    let mut overrides = HashMap::new();
    for row in 0..table.height() {
        let code = table.cell(country, row).unwrap_or_default();
        let index = reference
            .country(&code.to_ascii_uppercase())
            .ok_or_else(|| file_error(format!("row {}: unknown country code '{code}'", row + 1)))?;
        let south = match table.cell(status, row).map(str::to_ascii_lowercase).as_deref() {
            Some("south") | Some("developing") => true,
            Some("north") | Some("developed") => false,
            other => {
                return Err(file_error(format!(
                    "row {}: status '{}' must be south or north",
                    row + 1,
                    other.unwrap_or_default()
                )))
            }
        };
        overrides.insert(index, south);
    }
    Ok(overrides)
}

impl RunConfig {
    /// Checks the flags and resolves the weights.
    pub fn resolve(args: &RunArgs) -> Result<Self, ConfigError> {
        let matching = MatchConfig::resolve(&args.matching)?;
        if args.top_k == 0 {
            return Err(flag_error("top-k", 0, "must be at least 1"));
        }
        if args.threads == Some(0) {
            return Err(flag_error("threads", 0, "must be at least 1"));
        }
        if args.clusters == Some(0) {
            return Err(flag_error("clusters", 0, "must be at least 1"));
        }
        for (flag, value) in [("diversity", args.diversity), ("min-region-share", args.min_region_share)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(flag_error(flag, value, "must be between 0 and 1"));
            }
        }
        Ok(RunConfig {
            matching,
            out_dir: args.out.clone(),
            model_dir: args.model_dir.clone(),
            reuse_model: args.reuse_model,
            threads: args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            seed: args.seed,
            top_k: args.top_k,
            clusters: args.clusters,
            triads: args.triads.then_some(args.beam.max(1)),
            export_matrices: args.export_matrices.clone(),
            rerank: crate::engine::rank::rerank::Rerank {
                lambda: args.diversity,
                min_region_share: args.min_region_share,
            },
            blocked: (args.mode == "blocked").then(|| BlockedMode {
                probe: args.probe,
                max_block: (args.max_block > 0).then_some(args.max_block),
                recall_sample: args.recall_sample,
            }),
        })
    }

    /// The manifest's record, with the cluster count and rules actually used.
    pub fn resolved(&self, clusters: usize, rules: &[&str]) -> ResolvedConfig {
        let m = &self.matching;
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        ResolvedConfig {
            profiles: m.profiles.display_name(),
            model_dir: self.model_dir.display().to_string(),
            reuse_model: self.reuse_model,
            threads: self.threads,
            seed: self.seed,
            top_k: self.top_k,
            clusters,
            weights: weights::to_map(&m.score.weights),
            geo_scale_km: m.score.geography.scale_km,
            geo_region_share: m.score.geography.region_share,
            rarity: m.rarity,
            mutual_rule: m.score.mutual.name().into(),
            triangular_definition: format!("{:?}", m.score.triangular).to_lowercase(),
            modality: m.modality.iter().map(|x| x.name().to_string()).collect(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            exclusions: m.exclusions.as_ref().map(|e| {
                format!("{} (window {} days, as of day {})", e.path.display(), e.window_days, e.as_of_days)
            }),
            development_status: path(&m.development_status_file),
            actor_compatibility: path(&m.actor_compatibility_file),
            blocked: self.blocked.clone(),
            rerank: self.rerank.is_active().then_some(self.rerank),
            triads_beam: self.triads,
            export_matrices: path(&self.export_matrices),
        }
    }
}
