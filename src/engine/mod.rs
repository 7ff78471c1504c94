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
pub mod ingest;
pub mod modality;
pub mod profile;
pub mod rank;
pub mod reference;
pub mod rules;
pub mod score;
pub mod triads;

use tracing::info;

use crate::config::MatchConfig;
use crate::error::Error;
use crate::telemetry::{Progress, StageClock};
use crate::PartnerIdx;
use features::{FeatureSettings, PartnerFeatures};
use ingest::{ingest, Ingested};
use profile::Profile;
use rank::{Candidates, Scan};
use reference::Reference;
use rules::exclusions::ExclusionStats;
use rules::{Exclusions, ModalityFilter, RuleSet};
use score::columns::Columns;
use score::Scorer;

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
    config: MatchConfig,
}

impl Engine {
    /// Ingests the profiles, builds features and the rule set.
    pub fn prepare(config: &MatchConfig, clock: &mut StageClock, progress: Progress) -> Result<Engine, Error> {
        let reference = Reference::builtin();
        let spinner = progress.stage("ingest", 0);
        let ingested = clock.time("ingest", || ingest(&config.profiles, reference))?;
        spinner.finish_and_clear();
        info!(target: "sstc_match::ingest", rows = ingested.rows_read, rejected = ingested.rows_rejected, valid = ingested.profiles.len());
        let settings = FeatureSettings {
            rarity: config.rarity,
            development_overrides: config.development_overrides.clone(),
        };
        let features = clock.time("features", || PartnerFeatures::build(&ingested.profiles, reference, &settings));
        let (exclusions, exclusion_stats) = match &config.exclusions {
            Some(settings) => {
                let (exclusions, stats) = Exclusions::load(settings, &ingested.profiles)?;
                (Some(exclusions), Some(stats))
            }
            None => (None, None),
        };
        let modality = (!config.modality.is_empty()).then(|| ModalityFilter {
            keep: config.modality.clone(),
            triangular: config.score.triangular,
        });
        let rules = RuleSet::new(&config.disabled_rules, modality, exclusions);
        Ok(Engine {
            ingested,
            features,
            rules,
            exclusion_stats,
            config: config.clone(),
        })
    }

    /// The valid profiles, sorted by id (a profile's index is its [`PartnerIdx`]).
    pub fn profiles(&self) -> &[Profile] {
        &self.ingested.profiles
    }

    /// The index of the profile with this id.
    pub fn index_of(&self, id: &str) -> Option<PartnerIdx> {
        self.profiles().binary_search_by(|p| p.id.as_str().cmp(id)).ok().map(|i| i as PartnerIdx)
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
        Scorer::new(&self.features, &self.config.actor_compatibility, self.config.score)
    }

    /// The scan of every partner as a candidate, under the rules in force (its columns are
    /// built here and freed with it).
    pub fn scan(&self) -> Scan<'_> {
        Scan::new(self.scorer(), &self.rules, Candidates::Owned(Box::new(Columns::in_index_order(&self.scorer()))))
    }
}
