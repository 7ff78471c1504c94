//! The changes table, `changes.csv` and `changes.parquet`: what entered, left or moved in each
//! list since the previous run, the "new this week" of a campaign.
//!
//! Input: the previous run ([`Previous::read`]: three columns of its shortlist, the ids mapped
//! onto tonight's partners) and tonight's lists as the shortlist files hold them ([`Written`]:
//! a donor's support proposals in place of its pair list). Output: the table, in the formats
//! of `--formats` and into the sink, and its counts for the manifest ([`ChangeCounts`]).
//! Memory: 12 bytes per row of the previous shortlist, plus the ids no longer in the profiles;
//! the rows are built and written a batch of partners at a time.
//!
//! # Columns (one row per change: a candidate at the same rank on both nights is not written)
//!
//! | column | meaning |
//! |---|---|
//! | `run_id`, `previous_run_id` | tonight's run and the run compared with |
//! | `partner_id`, `partner_name` | whose list |
//! | `change` | `entered` (on the list tonight only), `left` (the previous night only), `moved` (both nights, another rank) |
//! | `rank`, `previous_rank` | tonight's and the previous night's rank; empty where not on the list |
//! | `candidate_id`, `candidate_name` | the candidate |
//!
//! Rows come by partner id, then tonight's rank, then, for those that left, the previous
//! rank. Names are tonight's; an id no longer in the profiles has an empty name.

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use super::shortlist::{SupportProposals, Written};
use super::{write_batches, write_error, Destinations, OutputError, BATCH};
use crate::engine::profile::{self, Profile};
use crate::engine::rank::Shortlist;
use crate::io::manifest::ChangeCounts;
use crate::io::run_dir::{RunDir, RunDirError, CHANGES_CSV, CHANGES_PARQUET};
use crate::io::table::TableFormat;
use crate::PartnerIdx;

/// The previous run's lists, by tonight's partner indices.
pub struct Previous {
    run_id: String,
    dir: String,
    /// `[partner, rank, candidate]` of every row, sorted; an index past tonight's profiles
    /// names `gone[index - profiles]`.
    rows: Vec<[u32; 3]>,
    /// The ids of the previous lists that tonight's profiles lack, by index.
    gone: Vec<String>,
}

impl Previous {
    /// Reads the lists of `run`, mapping its ids onto `profiles` (sorted by id).
    pub fn read(run: &RunDir, profiles: &[Profile]) -> Result<Previous, RunDirError> {
        let tonight = profile::id_index(profiles);
        let mut gone_at: HashMap<String, u32> = HashMap::new();
        let mut gone: Vec<String> = Vec::new();
        let mut rows = Vec::new();
        let mut index = |id: &str| match tonight.get(id) {
            Some(&i) => i,
            None => *gone_at.entry(id.to_string()).or_insert_with(|| {
                gone.push(id.to_string());
                (profiles.len() + gone.len() - 1) as u32
            }),
        };
        run.each_pair(|partner, rank, candidate| rows.push([index(partner), rank, index(candidate)]))?;
        rows.par_sort_unstable();
        Ok(Previous { run_id: run.manifest.run_id.clone(), dir: run.path.display().to_string(), rows, gone })
    }

    /// The id of tonight's partner `i`, or of an id no longer in the profiles.
    fn id<'a>(&'a self, profiles: &'a [Profile], i: u32) -> &'a str {
        match profiles.get(i as usize) {
            Some(profile) => &profile.id,
            None => &self.gone[i as usize - profiles.len()],
        }
    }

    /// The `(rank, candidate)` rows of `partner`'s previous list, by rank.
    fn list(&self, partner: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let start = self.rows.partition_point(|r| r[0] < partner);
        self.rows[start..].iter().take_while(move |r| r[0] == partner).map(|r| (r[1], r[2]))
    }
}

/// How a candidate's place in a list changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Entered,
    Left,
    Moved,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Entered => "entered",
            Change::Left => "left",
            Change::Moved => "moved",
        }
    }
}

/// One row of the table.
struct Row {
    partner: u32,
    change: Change,
    rank: Option<u32>,
    previous_rank: Option<u32>,
    candidate: u32,
}

/// What the rows are built from.
pub struct ChangesContext<'a> {
    /// Tonight's run id.
    pub run_id: &'a str,
    /// Tonight's profiles, indexed by partner index.
    pub profiles: &'a [Profile],
    /// Tonight's final lists.
    pub lists: &'a [Shortlist],
    /// The support proposals written in place of their proposers' lists.
    pub proposals: Option<&'a SupportProposals<'a>>,
}

/// Compares tonight's lists with `previous`, writes `changes.csv` and `changes.parquet`
/// (those of `formats`, and the sink's `changes` table) and returns the counts.
pub fn write(out: &mut Destinations, context: &ChangesContext, previous: &Previous, formats: &[TableFormat]) -> Result<ChangeCounts, OutputError> {
    let profiles = context.profiles;
    let mut tonight = vec![None; profiles.len()];
    for (at, list) in context.lists.iter().enumerate() {
        tonight[list.partner as usize] = Some(at);
    }
    // Every partner with a list on either night, by id: one entry per partner before any id
    // is compared (an entry per previous row made the sort compare k + 1 times as many).
    let id = |i: u32| previous.id(profiles, i);
    let mut partners: Vec<u32> = context.lists.iter().map(|l| l.partner).chain(previous.rows.iter().map(|r| r[0])).collect();
    partners.par_sort_unstable();
    partners.dedup();
    partners.par_sort_unstable_by(|&a, &b| id(a).cmp(id(b)));

    let mut counts = ChangeCounts { previous_run_id: previous.run_id.clone(), previous_dir: previous.dir.clone(), ..ChangeCounts::default() };
    let schema = frame(context, previous, Vec::new())?.schema().as_ref().clone();
    let frames = partners.chunks(BATCH).map(|batch| {
        let lists: Vec<ListChange> = batch
            .par_iter()
            .map(|&partner| {
                let now = tonight.get(partner as usize).copied().flatten().map(|at| Written::of(context.proposals, &context.lists[at]).candidates()).unwrap_or_default();
                compare(partner, &now, &previous.list(partner).collect::<Vec<_>>())
            })
            .collect();
        for list in &lists {
            list.count(&mut counts);
        }
        frame(context, previous, lists.into_iter().flat_map(|l| l.rows).collect())
    });
    write_batches(out, ((CHANGES_CSV, CHANGES_PARQUET), "changes"), formats, &schema, frames)?;
    Ok(counts)
}

/// One partner's list on both nights.
struct ListChange {
    listed_now: bool,
    listed_before: bool,
    rows: Vec<Row>,
}

impl ListChange {
    fn count(&self, counts: &mut ChangeCounts) {
        match (self.listed_before, self.listed_now) {
            (true, true) => {
                counts.lists_compared += 1;
                counts.lists_changed += usize::from(!self.rows.is_empty());
            }
            (false, true) => counts.lists_added += 1,
            (true, false) => counts.lists_dropped += 1,
            (false, false) => {}
        }
        for row in &self.rows {
            *match row.change {
                Change::Entered => &mut counts.entered,
                Change::Left => &mut counts.left,
                Change::Moved => &mut counts.moved,
            } += 1;
        }
    }
}

/// The changes of one partner's list: `now` (candidates, best first) against `before`
/// (`(rank, candidate)` by rank).
fn compare(partner: u32, now: &[PartnerIdx], before: &[(u32, u32)]) -> ListChange {
    let mut previous_rank: Vec<(u32, u32)> = before.iter().map(|&(rank, candidate)| (candidate, rank)).collect();
    previous_rank.sort_unstable();
    let mut listed_now: Vec<u32> = now.to_vec();
    listed_now.sort_unstable();
    let was = |candidate: u32| previous_rank.binary_search_by_key(&candidate, |p| p.0).ok().map(|at| previous_rank[at].1);
    let mut rows: Vec<Row> = now
        .iter()
        .enumerate()
        .filter_map(|(at, &candidate)| {
            let rank = at as u32 + 1;
            let change = match was(candidate) {
                None => Change::Entered,
                Some(before) if before != rank => Change::Moved,
                Some(_) => return None,
            };
            Some(Row { partner, change, rank: Some(rank), previous_rank: was(candidate), candidate })
        })
        .collect();
    rows.extend(
        before
            .iter()
            .filter(|(_, candidate)| listed_now.binary_search(candidate).is_err())
            .map(|&(rank, candidate)| Row { partner, change: Change::Left, rank: None, previous_rank: Some(rank), candidate }),
    );
    ListChange { listed_now: !now.is_empty(), listed_before: !before.is_empty(), rows }
}

fn frame(context: &ChangesContext, previous: &Previous, rows: Vec<Row>) -> Result<DataFrame, OutputError> {
    let p = context.profiles;
    let id = |i: u32| previous.id(p, i);
    let name = |i: u32| p.get(i as usize).map(|profile| profile.name.as_str());
    let columns = vec![
        Column::new("run_id".into(), vec![context.run_id; rows.len()]),
        Column::new("previous_run_id".into(), vec![previous.run_id.as_str(); rows.len()]),
        Column::new("partner_id".into(), rows.iter().map(|r| id(r.partner)).collect::<Vec<&str>>()),
        Column::new("partner_name".into(), rows.iter().map(|r| name(r.partner)).collect::<Vec<Option<&str>>>()),
        Column::new("change".into(), rows.iter().map(|r| r.change.name()).collect::<Vec<&str>>()),
        Column::new("rank".into(), rows.iter().map(|r| r.rank).collect::<Vec<Option<u32>>>()),
        Column::new("previous_rank".into(), rows.iter().map(|r| r.previous_rank).collect::<Vec<Option<u32>>>()),
        Column::new("candidate_id".into(), rows.iter().map(|r| id(r.candidate)).collect::<Vec<&str>>()),
        Column::new("candidate_name".into(), rows.iter().map(|r| name(r.candidate)).collect::<Vec<Option<&str>>>()),
    ];
    DataFrame::new(rows.len(), columns).map_err(write_error("changes"))
}
