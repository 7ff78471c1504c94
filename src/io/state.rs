//! The incremental state: what a run with `--incremental` leaves for the next night.
//!
//! Input, writing: a locked [`Staging`] area, the profiles, each active partner's
//! [`Identity`] and pool with its bound. Input, reading: a finished [`RunDir`] and tonight's
//! profiles and identities. Output: for each partner active tonight whose identity is the one
//! the state holds (a *kept* partner), its [`PreviousPool`], candidates by tonight's index.
//!
//! ```text
//!   OUT/state-partners.parquet  partner_id, fingerprint, duplicate_group, bound: each active partner
//!   OUT/state-pools.parquet     partner_id, rank, candidate_id, score: its pool (depth + margin)
//!   OUT/manifest.json           incremental.state: depth, margin, the theme rarity weights
//! ```
//!
//! Both files are listed with their sha256 in the manifest like every file of the run, and
//! checked before they are read: a state edited after its run is refused, never trusted.
//! Size: O(N · (depth + margin)) rows, by id (readable and diffable by hand).

use polars::prelude::*;
use rayon::prelude::*;

use crate::engine::incremental::PreviousPool;
use crate::engine::ingest::Duplicates;
use crate::engine::profile::{self, Profile};
use crate::engine::rank::Shortlist;
use crate::io::run_dir::publish::Staging;
use crate::io::run_dir::{RunDir, RunDirError};
use crate::io::table::{write_frame, TableError, TableFormat};
use crate::{PartnerIdx, Score};

/// Each active partner's identity and bound.
pub const STATE_PARTNERS: &str = "state-partners.parquet";
/// Each active partner's pool.
pub const STATE_POOLS: &str = "state-pools.parquet";

/// What makes a partner the same on two nights: its content and its duplicate group (the id
/// of the group's first record; empty when it stands alone). A pair of two partners of the
/// same identity on both nights is admitted and scored the same, but for the rarity weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// [`profile::fingerprint`].
    pub fingerprint: u64,
    /// The duplicate group's first record, when it has a group.
    pub group: Option<PartnerIdx>,
}

impl Identity {
    /// The group as written: the id of its first record, or "".
    fn group_id<'p>(&self, profiles: &'p [Profile]) -> &'p str {
        self.group.map_or("", |g| profiles[g as usize].id.as_str())
    }
}

/// Every profile's identity, by index.
pub fn identities(profiles: &[Profile], duplicates: &Duplicates) -> Vec<Identity> {
    profiles
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let i = i as PartnerIdx;
            Identity { fingerprint: profile::fingerprint(p), group: (!duplicates.alone(i)).then(|| duplicates.group_of(i)) }
        })
        .collect()
}

/// The error of an empty cell in a state file (the engine writes none).
fn null_in(file: &str) -> PolarsError {
    PolarsError::ComputeError(format!("an empty cell in {file}").into())
}

/// Writes the state of `pools` (every active partner's, with its bound) into `staging`.
pub fn write(staging: &mut Staging, profiles: &[Profile], identities: &[Identity], (pools, bounds): (&[Shortlist], &[Score])) -> Result<(), TableError> {
    let write_error = |reason: String| TableError::Write { target: STATE_PARTNERS.to_string(), reason };
    let id = |list: &Shortlist| &identities[list.partner as usize];
    let columns = vec![
        Column::new("partner_id".into(), pools.iter().map(|l| profiles[l.partner as usize].id.as_str()).collect::<Vec<_>>()),
        Column::new("fingerprint".into(), pools.iter().map(|l| id(l).fingerprint).collect::<Vec<_>>()),
        Column::new("duplicate_group".into(), pools.iter().map(|l| id(l).group_id(profiles)).collect::<Vec<_>>()),
        Column::new("bound".into(), bounds.to_vec()),
    ];
    let mut frame = DataFrame::new(pools.len(), columns).map_err(|e| write_error(e.to_string()))?;
    let mut file = staging.create(STATE_PARTNERS).map_err(|e| write_error(e.to_string()))?;
    write_frame(&mut frame, TableFormat::Parquet, &mut file, STATE_PARTNERS)?;
    staging.finish(file).map_err(|e| write_error(e.to_string()))?;
    crate::io::shard::write_lists(staging, STATE_POOLS, profiles, pools)
}

/// The previous pools of the partners active tonight (`active`, by index) whose identity is
/// the state's: `None` for the others (new, changed, regrouped or reactivated: fresh).
/// Candidates that are no longer profiles are dropped from the pools (they left). An empty
/// cell is an error (the engine writes none).
pub fn read(run: &RunDir, profiles: &[Profile], identities: &[Identity], active: &[bool]) -> Result<Vec<Option<PreviousPool>>, RunDirError> {
    let tonight = profile::id_index(profiles);
    let index_of = |id: &str| tonight.get(id).copied();
    let mut previous: Vec<Option<PreviousPool>> = vec![None; profiles.len()];
    run.each_slice(STATE_PARTNERS, &["partner_id", "fingerprint", "duplicate_group", "bound"], |frame, malformed| {
        let text = |c: &str| frame.column(c).and_then(|c| c.str().cloned()).map_err(malformed);
        let (ids, groups) = (text("partner_id")?, text("duplicate_group")?);
        let fingerprints = frame.column("fingerprint").and_then(|c| c.u64().cloned()).map_err(malformed)?;
        let bounds = frame.column("bound").and_then(|c| c.f32().cloned()).map_err(malformed)?;
        for (((id, fingerprint), group), bound) in ids.iter().zip(fingerprints.iter()).zip(groups.iter()).zip(bounds.iter()) {
            let (Some(id), Some(fingerprint), Some(group), Some(bound)) = (id, fingerprint, group, bound) else { return Err(malformed(null_in(STATE_PARTNERS))) };
            let Some(i) = index_of(id) else { continue };
            let tonight = &identities[i as usize];
            if tonight.fingerprint == fingerprint && tonight.group_id(profiles) == group && active[i as usize] {
                previous[i as usize] = Some(PreviousPool { candidates: Vec::new(), bound });
            }
        }
        Ok(())
    })?;
    run.each_slice(STATE_POOLS, &["partner_id", "candidate_id"], |frame, malformed| {
        let text = |c: &str| frame.column(c).and_then(|c| c.str().cloned()).map_err(malformed);
        let (partners, candidates) = (text("partner_id")?, text("candidate_id")?);
        let candidates: Vec<&str> = candidates.iter().collect::<Option<_>>().ok_or_else(|| malformed(null_in(STATE_POOLS)))?;
        // A slice holds a million candidates: looked up on every core.
        let candidates: Vec<Option<PartnerIdx>> = candidates.par_iter().map(|id| index_of(id)).collect();
        // Rows come partner by partner: look a partner up once.
        let mut last: Option<(&str, Option<PartnerIdx>)> = None;
        for (partner, candidate) in partners.iter().zip(candidates) {
            let Some(partner) = partner else { return Err(malformed(null_in(STATE_POOLS))) };
            let index = match last {
                Some((id, index)) if id == partner => index,
                _ => index_of(partner),
            };
            last = Some((partner, index));
            let pool = index.and_then(|i| previous[i as usize].as_mut());
            if let (Some(pool), Some(candidate)) = (pool, candidate) {
                pool.candidates.push(candidate);
            }
        }
        Ok(())
    })?;
    Ok(previous)
}
