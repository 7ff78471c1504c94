//! The incremental state: what a run with `--incremental` leaves for the next night.
//!
//! Input, writing: a locked [`Staging`] area, the profiles, each active partner's
//! [`Identity`] and pool with its bound, and each partner in need's resource pool with its
//! bound. Input, reading: a finished [`RunDir`] and tonight's profiles and identities.
//! Output: for each partner active tonight of the content the state holds and of no
//! duplicate group that split (a *kept* partner, [`kept`]), its [`PreviousPool`] and, when
//! it is in need, its resource pool, candidates by tonight's index ([`Previous`]).
//!
//! ```text
//!   OUT/state-partners.parquet   partner_id, fingerprint, duplicate_group, bound, resource_bound
//!                                (empty when not in need): each active partner
//!   OUT/state-pools.parquet      partner, candidate: its pool (depth + margin), best first, each
//!                                partner named by its row in state-partners (0-based)
//!   OUT/state-resources.parquet  partner, supporter: the resource pool of each partner in need
//!                                (resource k + as many again), best first, named the same way
//!   OUT/manifest.json            incremental.state: depth, margin, the theme rarity weights
//! ```
//!
//! The files are listed with their sha256 in the manifest like every file of the run, and
//! checked before they are read: a state edited after its run is refused, never trusted.
//! Size: O(N · (depth + margin)) rows; the ids are written once each, in state-partners, and
//! the pools name partners by row: at 300k partners, writing the pools by id (two strings
//! and a score per row) took 2.6 s of a 1 % night's 26 s, and reading them looked up 20 ids
//! per partner.

use std::collections::HashMap;

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
/// Each partner in need's resource pool.
pub const STATE_RESOURCES: &str = "state-resources.parquet";

/// A night's pools, as the state holds them: every active partner's pool, every partner in
/// need's resource pool, each with its bound.
pub struct Pools<'a> {
    /// Every active partner's pool.
    pub lists: &'a [Shortlist],
    /// Their bounds, in the same order.
    pub bounds: &'a [Score],
    /// Every partner in need's resource pool (`partner`: the partner in need).
    pub resources: &'a [Shortlist],
    /// Their bounds, in the same order.
    pub resource_bounds: &'a [Score],
}

/// What the state gives tonight, by partner index: the pools of the kept partners, and the
/// resource pools of those in need.
pub struct Previous {
    /// Pools: `Some` for a kept partner.
    pub pools: Vec<Option<PreviousPool>>,
    /// Resource pools: `Some` for a kept partner that had one.
    pub resources: Vec<Option<PreviousPool>>,
}

/// What a partner is on a night: its content and its duplicate group (the id of the group's
/// first record; empty when it stands alone). Which partners are kept from one night to the
/// next: [`kept`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// [`profile::fingerprint`].
    pub fingerprint: u64,
    /// The duplicate group's first record, when it has a group.
    pub group: Option<PartnerIdx>,
}

impl Identity {
    /// The group as written: the id of its first record, or "".
    pub fn group_id<'p>(&self, profiles: &'p [Profile]) -> &'p str {
        self.group.map_or("", |g| profiles[g as usize].id.as_str())
    }
}

/// A partner as last night's state recorded it.
pub struct Recorded<'a> {
    /// Tonight's index of its id, if it is still a profile.
    pub index: Option<PartnerIdx>,
    /// Its [`profile::fingerprint`] last night.
    pub fingerprint: u64,
    /// Its duplicate group last night ([`Identity`]'s id; empty: alone).
    pub group: &'a str,
}

/// Which partners of last night's state (`recorded`) are *kept* tonight, by tonight's index:
/// active, of the same content, and not in a duplicate group that split. A pair of two kept
/// partners is then scored the same on both nights but for the rarity weights, and is
/// admitted tonight only if it was last night: the rules but `not_duplicates` and the dated
/// exclusions read the content (the caller makes the partners of an exclusion that began or
/// ended fresh), and two kept partners in two groups tonight were in two groups last night
/// (one group whose kept members went to two groups has split: all of them are fresh; a
/// member that changed is fresh itself, and does not split its group). Groups that
/// merged or took in a new record only refuse pairs admitted before, which the rescoring of
/// a pool drops; so a partner whose duplicate gets registered keeps its list.
pub fn kept(recorded: &[Recorded], identities: &[Identity], active: &[bool]) -> Vec<bool> {
    let same = |r: &Recorded| r.index.filter(|&i| identities[i as usize].fingerprint == r.fingerprint && active[i as usize]);
    // Each group of last night: tonight's group of its kept members, `None` once two differ.
    let mut groups: HashMap<&str, Option<PartnerIdx>> = HashMap::new();
    for r in recorded.iter().filter(|r| !r.group.is_empty()) {
        if let Some(i) = same(r) {
            let tonight = identities[i as usize].group.unwrap_or(i);
            groups.entry(r.group).and_modify(|g| *g = g.filter(|&g| g == tonight)).or_insert(Some(tonight));
        }
    }
    let mut kept = vec![false; identities.len()];
    for r in recorded {
        if let Some(i) = same(r).filter(|_| r.group.is_empty() || groups[r.group].is_some()) {
            kept[i as usize] = true;
        }
    }
    kept
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

/// Writes the state of `pools` into `staging`.
pub fn write(staging: &mut Staging, profiles: &[Profile], identities: &[Identity], pools: Pools) -> Result<(), TableError> {
    let Pools { lists, bounds, resources, resource_bounds } = pools;
    let id = |list: &Shortlist| &identities[list.partner as usize];
    let mut resource_bound: Vec<Option<Score>> = vec![None; profiles.len()];
    for (list, &bound) in resources.iter().zip(resource_bounds) {
        resource_bound[list.partner as usize] = Some(bound);
    }
    write_table(
        staging,
        STATE_PARTNERS,
        vec![
            Column::new("partner_id".into(), lists.iter().map(|l| profiles[l.partner as usize].id.as_str()).collect::<Vec<_>>()),
            Column::new("fingerprint".into(), lists.iter().map(|l| id(l).fingerprint).collect::<Vec<_>>()),
            Column::new("duplicate_group".into(), lists.iter().map(|l| id(l).group_id(profiles)).collect::<Vec<_>>()),
            Column::new("bound".into(), bounds.to_vec()),
            Column::new("resource_bound".into(), lists.iter().map(|l| resource_bound[l.partner as usize]).collect::<Vec<_>>()),
        ],
    )?;
    let mut row_of = vec![u32::MAX; profiles.len()];
    for (row, list) in lists.iter().enumerate() {
        row_of[list.partner as usize] = row as u32;
    }
    write_table(staging, STATE_POOLS, by_row(lists, &row_of, ["partner", "candidate"]))?;
    write_table(staging, STATE_RESOURCES, by_row(resources, &row_of, ["partner", "supporter"]))
}

/// The rows of `lists` as two columns named `names`: the list's partner and each of its
/// candidates, by their row in state-partners (`row_of`).
fn by_row(lists: &[Shortlist], row_of: &[u32], names: [&str; 2]) -> Vec<Column> {
    let (mut partner, mut candidate) = (Vec::new(), Vec::new());
    for list in lists {
        for hit in &list.hits {
            partner.push(row_of[list.partner as usize]);
            candidate.push(row_of[hit.candidate as usize]);
            debug_assert_ne!(candidate.last(), Some(&u32::MAX), "a pool's candidate is an active partner, with a pool");
        }
    }
    vec![Column::new(names[0].into(), partner), Column::new(names[1].into(), candidate)]
}

/// Writes `columns` as the Parquet file `name` of the state.
fn write_table(staging: &mut Staging, name: &str, columns: Vec<Column>) -> Result<(), TableError> {
    let write_error = |reason: String| TableError::Write { target: name.to_string(), reason };
    let height = columns.first().map_or(0, Column::len);
    let mut frame = DataFrame::new(height, columns).map_err(|e| write_error(e.to_string()))?;
    let mut file = staging.create(name).map_err(|e| write_error(e.to_string()))?;
    write_frame(&mut frame, TableFormat::Parquet, &mut file, name)?;
    staging.finish(file).map_err(|e| write_error(e.to_string()))
}

/// The previous pools and resource pools of the partners [`kept`] tonight (`active`, by
/// index): `None` for the others (new, changed, reactivated, or of a duplicate group that
/// split: fresh). Candidates that are no longer profiles are dropped from the pools
/// (they left). An empty cell is an error (the engine writes none, but for the resource
/// bound of a partner not in need).
pub fn read(run: &RunDir, profiles: &[Profile], identities: &[Identity], active: &[bool]) -> Result<Previous, RunDirError> {
    let tonight = profile::id_index(profiles);
    // Tonight's index of each row of state-partners (the pools name partners by row), what
    // the row recorded, and its bounds.
    let (mut by_row, mut fingerprints, mut groups, mut bounds) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    run.each_slice(STATE_PARTNERS, &["partner_id", "fingerprint", "duplicate_group", "bound", "resource_bound"], |frame, malformed| {
        let text = |c: &str| frame.column(c).and_then(|c| c.str().cloned()).map_err(malformed);
        let score = |c: &str| frame.column(c).and_then(|c| c.f32().cloned()).map_err(malformed);
        let (ids, group_ids) = (text("partner_id")?, text("duplicate_group")?);
        let fingerprint = frame.column("fingerprint").and_then(|c| c.u64().cloned()).map_err(malformed)?;
        let (bound, resource_bound) = (score("bound")?, score("resource_bound")?);
        let rows = ids.iter().zip(fingerprint.iter()).zip(group_ids.iter()).zip(bound.iter()).zip(resource_bound.iter());
        for ((((id, fingerprint), group), bound), resource_bound) in rows {
            let (Some(id), Some(fingerprint), Some(group), Some(bound)) = (id, fingerprint, group, bound) else { return Err(malformed(null_in(STATE_PARTNERS))) };
            by_row.push(tonight.get(id).copied());
            fingerprints.push(fingerprint);
            groups.push(group.to_string());
            bounds.push((bound, resource_bound));
        }
        Ok(())
    })?;
    let recorded: Vec<Recorded> = by_row.iter().zip(&fingerprints).zip(&groups).map(|((&index, &fingerprint), group)| Recorded { index, fingerprint, group }).collect();
    let kept = kept(&recorded, identities, active);
    let mut previous = Previous { pools: vec![None; profiles.len()], resources: vec![None; profiles.len()] };
    for (&index, &(bound, resource_bound)) in by_row.iter().zip(&bounds) {
        if let Some(i) = index.filter(|&i| kept[i as usize]) {
            previous.pools[i as usize] = Some(PreviousPool { candidates: Vec::new(), bound });
            previous.resources[i as usize] = resource_bound.map(|bound| PreviousPool { candidates: Vec::new(), bound });
        }
    }
    read_pools(run, STATE_POOLS, ["partner", "candidate"], &by_row, &mut previous.pools)?;
    read_pools(run, STATE_RESOURCES, ["partner", "supporter"], &by_row, &mut previous.resources)?;
    Ok(previous)
}

/// Reads the state file `name` of rows (partner, candidate), named by their row in
/// state-partners (`by_row`: tonight's index of each), into the `pools` that are `Some`.
fn read_pools(run: &RunDir, name: &str, columns: [&str; 2], by_row: &[Option<PartnerIdx>], pools: &mut [Option<PreviousPool>]) -> Result<(), RunDirError> {
    run.each_slice(name, &columns, |frame, malformed| {
        let row = |c: &str| frame.column(c).and_then(|c| c.u32().cloned()).map_err(malformed);
        let (partners, candidates) = (row(columns[0])?, row(columns[1])?);
        for (partner, candidate) in partners.iter().zip(candidates.iter()) {
            let index = |row: Option<u32>| match row.map(|r| by_row.get(r as usize)) {
                Some(Some(&index)) => Ok(index),
                Some(None) => Err(malformed(PolarsError::OutOfBounds(format!("{name} names row {} of {STATE_PARTNERS}, which has {}", row.unwrap_or_default(), by_row.len()).into()))),
                None => Err(malformed(null_in(name))),
            };
            let (partner, candidate) = (index(partner)?, index(candidate)?);
            if let (Some(pool), Some(candidate)) = (partner.and_then(|i| pools[i as usize].as_mut()), candidate) {
                pool.candidates.push(candidate);
            }
        }
        Ok(())
    })
}
