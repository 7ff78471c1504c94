//! The engine: profiles in, ranked and explained pairs out, with no file of its own to write.
//!
//! Input: a checked [`crate::config::MatchConfig`]. Output: an [`Engine`], prepared once
//! (ingest → features → rules), whose scan ranks any set of partners against any set of
//! candidates into a collector.
//!
//! ```text
//!   ingest ─▶ features ─▶ cluster ─▶ candidates ─▶ score (tile kernel) ─▶ rules ─▶ rank
//! ```

pub mod candidates;
pub mod cluster;
pub mod fairness;
pub mod features;
pub mod incremental;
pub mod ingest;
pub mod modality;
pub mod profile;
pub mod rank;
pub mod reference;
pub mod rules;
pub mod score;
pub mod shard;
pub mod support;
pub mod triads;

use tracing::info;

use crate::config::{ConfigError, MatchConfig};
use crate::error::Error;
use crate::io::manifest::SettingsFile;
use crate::io::table::{all_columns, StringTable, TableSource};
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;
use features::{FeatureSettings, PartnerFeatures};
use ingest::{ingest, Ingested};
use profile::Profile;
use rank::{Candidates, Scan};
use reference::{default_profiles, Reference};
use rules::exclusions::ExclusionStats;
use rules::{Exclusions, ModalityFilter, RuleSet};
use score::columns::Columns;
use score::{ScoreSettings, Scorer};

/// Everything a command that matches needs, prepared once from a checked configuration:
/// the valid profiles (id-sorted, so an id's index is found by binary search), their
/// features, the rules in force and the score's settings.
pub struct Engine {
    /// Ingest's result (profiles, rejects, hashes).
    pub ingested: Ingested,
    /// Feature blocks of the valid profiles.
    pub features: PartnerFeatures,
    /// The rules in force.
    pub rules: RuleSet,
    /// Counters of the exclusions table, when one was given.
    pub exclusion_stats: Option<ExclusionStats>,
    /// The profile table's name: its path, or the built-in set's name.
    pub source_name: String,
    /// The settings files read besides the profiles, with their digests.
    pub settings_files: Vec<SettingsFile>,
    settings: ScoreSettings,
    compatibility: Vec<f32>,
}

/// Reads a settings file named by `flag`, with its digest; a problem names the file.
fn settings_table(path: &std::path::Path, flag: &str, files: &mut Vec<SettingsFile>) -> Result<StringTable, ConfigError> {
    let name = path.display().to_string();
    let (table, sha256) = StringTable::read_hashed(&TableSource::File(path.to_path_buf()), &all_columns).map_err(|e| ConfigError::File { path: name.clone(), reason: e.to_string() })?;
    files.push(SettingsFile { flag: flag.to_string(), path: name, sha256 });
    Ok(table)
}

impl Engine {
    /// Ingests the profiles, reads the settings files, builds features and the rule set.
    pub fn prepare(config: &MatchConfig, clock: &mut StageClock, progress: Progress) -> Result<Engine, Error> {
        let reference = Reference::builtin();
        let mut settings_files = Vec::new();
        fn file_error(path: &std::path::Path) -> impl FnOnce(String) -> ConfigError + '_ {
            move |reason| ConfigError::File { path: path.display().to_string(), reason }
        }
        let compatibility = match &config.actor_compatibility {
            None => reference.actor_compatibility.clone(),
            Some(path) => reference::compatibility(&settings_table(path, "actor-compatibility", &mut settings_files)?, &reference.actor_types).map_err(file_error(path))?,
        };
        let development_overrides = match &config.development_status {
            None => Default::default(),
            Some(path) => features::development_overrides(&settings_table(path, "development-status", &mut settings_files)?, reference).map_err(file_error(path))?,
        };
        let source = match &config.profiles {
            Some(profiles) => profiles.table_source(),
            None => default_profiles(),
        };
        let spinner = progress.stage("ingest", 0);
        let ingested = clock.time("ingest", || ingest(&source, reference))?;
        spinner.finish_and_clear();
        info!(target: "sstc_match::ingest", rows = ingested.rows_read, rejected = ingested.rows_rejected, valid = ingested.profiles.len());
        let settings = FeatureSettings { rarity: config.rarity, development_overrides };
        let features = clock.time("features", || PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, reference, &settings));
        let (exclusions, exclusion_stats) = match &config.exclusions {
            Some(window) => {
                let (exclusions, stats, sha256) = Exclusions::load(window, &ingested.profiles)?;
                settings_files.push(SettingsFile { flag: "exclusions".into(), path: window.path.display().to_string(), sha256 });
                (Some(exclusions), Some(stats))
            }
            None => (None, None),
        };
        let modality = (!config.modality.is_empty()).then(|| ModalityFilter {
            keep: config.modality.clone(),
            triangular: config.triangular_definition,
        });
        let rules = RuleSet::new(&ingested.duplicates, &config.disabled_rules, modality, exclusions);
        Ok(Engine {
            ingested,
            features,
            rules,
            exclusion_stats,
            source_name: source.display_name(),
            settings_files,
            settings: config.score_settings(),
            compatibility,
        })
    }
    /// The valid profiles, sorted by id (a profile's index is its [`PartnerIdx`]).
    pub fn profiles(&self) -> &[Profile] {
        &self.ingested.profiles
    }

    /// The index of the profile with this id.
    pub fn index_of(&self, id: &str) -> Option<PartnerIdx> {
        profile::index_of(self.profiles(), id)
    }

    /// The profile with this id, or an error naming it.
    pub fn find(&self, id: &str) -> Result<PartnerIdx, Error> {
        self.index_of(id).ok_or_else(|| Error::UnknownPartner { id: id.to_string() })
    }

    /// The active partners, ascending.
    pub fn active(&self) -> Vec<PartnerIdx> {
        (0..self.features.len() as PartnerIdx).filter(|&i| self.features.active[i as usize]).collect()
    }

    /// The scorer of pairs under the configured weights and settings.
    pub fn scorer(&self) -> Scorer<'_> {
        Scorer::new(&self.features, &self.compatibility, self.settings)
    }

    /// The scan of every partner as a candidate, under the rules in force (its columns are
    /// built here and freed with it).
    pub fn scan(&self) -> Scan<'_> {
        Scan::new(self.scorer(), &self.rules, Candidates::Owned(Box::new(Columns::in_index_order(&self.scorer()))))
    }
}

/// Every (len/n)-th partner of `items`, n at most, spread over the list (deterministic): a
/// sample of partners for a check or a probe.
pub fn spread(items: &[PartnerIdx], n: usize) -> Vec<PartnerIdx> {
    if n == 0 || items.is_empty() {
        return Vec::new();
    }
    let step = (items.len() as f64 / n as f64).max(1.0);
    let mut picked: Vec<PartnerIdx> = (0..n.min(items.len())).map(|i| items[(i as f64 * step) as usize]).collect();
    picked.dedup();
    picked
}
