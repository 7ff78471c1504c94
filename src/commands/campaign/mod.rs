//! Campaign: turn a run's shortlists into outreach proposals a campaign tool can import.
//!
//! Input: a run's output directory (`shortlist.csv` with both parties' contacts and
//! capacities), a campaign id, and optionally a suppression list of pairs contacted recently
//! (`source_id`, `target_id`, `date`, in either order). Output, in `--out DIR` (written
//! atomically): `campaign.csv`, one row per proposal, and `campaign.json` with the totals.
//!
//! Allocation: every shortlist row "propose the candidate to the partner" is a possible
//! proposal worth its score. A partner receives at most `capacity` proposals and is proposed
//! to at most `capacity` partners (an empty capacity is no limit); the allocation maximising
//! the total score under those limits is found exactly by minimum-cost flow ([`flow`]).
//! The report says how much score the limits cost against the unconstrained lists.
//!
//! Spreadsheet safety: written like every CSV of the project
//! ([`crate::io::table::spreadsheet_safe`]), no field can run as a formula.
//!
//! With `--triads`, the run's triads are allocated first ([`triads`]) and written to
//! `campaign_triads.csv`; the pairs get the capacity they leave. With `--new-only`, only the
//! rows that entered their list since the run's previous night (its `changes` table) are
//! proposed: "new this week".
//!
//! # `campaign.csv` columns
//! `campaign_id, proposal_id, partner_id, partner_name, partner_contact_name,
//! partner_contact_email, candidate_id, candidate_name, candidate_contact_name,
//! candidate_contact_email, score, rank, direction, provider_id, beneficiary_id, modality,
//! reason`; `proposal_id` is `<campaign_id>:<partner_id>:<candidate_id>`.
//!
//! # `campaign_triads.csv` columns
//! `campaign_id, proposal_id` (`<campaign_id>:<beneficiary_id>:<provider_id>:<third_id>`), then
//! for the beneficiary, the provider and the third: `_id, _name, _contact_name,
//! _contact_email`; `third_role, score, reason`.

pub mod flow;
pub mod triads;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::config::CampaignConfig;
use crate::error::Error;
use crate::io::atomic::write_with;
use crate::output::{write_error, OutputError};
use crate::io::pairs::{read_recent, PairTable, PairWindow};
use crate::io::run_dir::{RunDir, ShortlistRow, TriadRow};
use crate::io::table::{write_frame, TableFormat};
use flow::{allocate, allocate_greedy, upper_bound, Proposal};
use triads::allocate_triads;

/// Scores are scaled to integers for the exact flow (a millionth of a point).
const SCALE: f64 = 1e6;

/// Totals of a campaign, written to `campaign.json`.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignSummary {
    /// The campaign id.
    pub campaign_id: String,
    /// The run the proposals come from.
    pub run_id: String,
    /// Shortlist rows considered.
    pub candidates: usize,
    /// Rows dropped by the suppression list.
    pub suppressed: usize,
    /// With `--new-only`, the rows left out because they were on their list the previous
    /// night too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_new: Option<usize>,
    /// Proposals made.
    pub proposals: usize,
    /// Total score of the proposals.
    pub allocated_score: f64,
    /// Total score of every (unsuppressed) shortlist row: what unlimited capacity would give.
    pub unconstrained_score: f64,
    /// Share of the unconstrained score the capacity limits cost.
    pub capacity_cost: f64,
    /// `exact` (min-cost flow) or `greedy` (by score, for campaigns of more than
    /// `--exact-limit` rows).
    pub allocation: &'static str,
    /// How far below the optimum the allocation may be, as a share of a proven upper bound
    /// of the optimum (0 for exact).
    pub optimality_gap_at_most: f64,
    /// The triads' totals, with `--triads`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triads: Option<TriadTotals>,
}

/// Totals of the triads of a campaign.
#[derive(Clone, Debug, Serialize)]
pub struct TriadTotals {
    /// The run's triads.
    pub candidates: usize,
    /// Triads dropped by the suppression list.
    pub suppressed: usize,
    /// Triads proposed.
    pub proposals: usize,
    /// Total score of the triads proposed.
    pub allocated_score: f64,
}

/// `x` rounded to millionths, as campaign.json shows it (an empty sum is -0.0 in Rust: shown
/// as 0).
fn millionths(x: f64) -> f64 {
    (x * 1e6).round() / 1e6 + 0.0
}

/// The pairs of the suppression table in force, both orders.
fn suppressed_pairs(window: &PairWindow) -> Result<HashSet<(String, String)>, Error> {
    let recent = read_recent(window, PairTable::Suppression)?;
    Ok(recent.pairs.into_iter().flat_map(|(a, b)| [(a.clone(), b.clone()), (b, a)]).collect())
}

/// Runs `campaign`; returns the summary.
pub fn run(config: &CampaignConfig) -> Result<CampaignSummary, Error> {
    let run = RunDir::open(&config.run)?;
    let shortlist = run.shortlist()?;
    let rows = shortlist.rows()?;
    let suppressed = match &config.suppress {
        Some(window) => suppressed_pairs(window)?,
        None => HashSet::new(),
    };
    // Each partner's capacity (both columns come from the same profile): none, no limit.
    let mut room: HashMap<&str, u32> = HashMap::new();
    for row in &rows {
        for (id, capacity) in [(row.partner_id, row.partner_capacity), (row.candidate_id, row.candidate_capacity)] {
            capacity.map(|c| room.insert(id, c));
        }
    }
    let triad_table = if config.triads { Some(run.triads()?.ok_or_else(|| Error::NoTriads { run: config.run.clone() })?) } else { None };
    let triad_rows = triad_table.as_ref().map(|t| t.rows()).transpose()?;
    let triad_choice = triad_rows.as_deref().map(|triads| allocate_triads(triads, &mut room, &suppressed));

    // Partners by id, with the capacity the triads left.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut capacity: Vec<u32> = Vec::new();
    let mut intern = |id| -> usize {
        let next = index.len();
        let i = *index.entry(id).or_insert(next);
        if i == capacity.len() {
            capacity.push(room.get(id).copied().unwrap_or(u32::MAX));
        }
        i
    };
    let entered = if config.new_only { Some(run.entered()?.ok_or_else(|| Error::NoChanges { run: config.run.clone() })?) } else { None };
    let (mut kept, mut proposals, mut not_new): (Vec<&ShortlistRow>, Vec<Proposal>, usize) = (Vec::new(), Vec::new(), 0);
    for row in &rows {
        let pair = (row.partner_id.to_string(), row.candidate_id.to_string());
        if entered.as_ref().is_some_and(|entered| !entered.contains(&pair)) {
            not_new += 1;
            continue;
        }
        if suppressed.contains(&pair) {
            continue;
        }
        let recipient = intern(row.partner_id);
        let proposed = intern(row.candidate_id);
        kept.push(row);
        proposals.push(Proposal {
            recipient,
            proposed,
            gain: (row.score * SCALE).round().max(1.0) as i64,
        });
    }
    // A partner's capacity can exceed the number of rows it is in: cap it there (no effect on
    // the optimum, keeps the flow network's numbers small).
    let rows_per_partner = proposals.len() as u32;
    capacity.iter_mut().for_each(|c| *c = (*c).min(rows_per_partner));
    let exact = proposals.len() <= config.exact_limit;
    let chosen = if exact { allocate(&proposals, &capacity) } else { allocate_greedy(&proposals, &capacity) };
    let gap = if exact {
        0.0
    } else {
        let bound = upper_bound(&proposals, &capacity) as f64;
        let got: i64 = chosen.iter().map(|&i| proposals[i].gain).sum();
        if bound > 0.0 { millionths(1.0 - got as f64 / bound) } else { 0.0 }
    };

    let unconstrained: f64 = kept.iter().map(|r| r.score).sum();
    let allocated: f64 = chosen.iter().map(|&i| kept[i].score).sum();
    let summary = CampaignSummary {
        campaign_id: config.campaign_id.clone(),
        run_id: rows.first().map(|r| r.run_id.to_string()).unwrap_or_default(),
        candidates: rows.len(),
        suppressed: rows.len() - not_new - kept.len(),
        not_new: entered.is_some().then_some(not_new),
        proposals: chosen.len(),
        allocated_score: millionths(allocated),
        unconstrained_score: millionths(unconstrained),
        capacity_cost: if unconstrained > 0.0 { millionths(1.0 - allocated / unconstrained) } else { 0.0 },
        allocation: if exact { "exact" } else { "greedy" },
        optimality_gap_at_most: gap,
        triads: triad_choice.as_ref().map(|choice| TriadTotals {
            candidates: triad_rows.as_ref().map_or(0, Vec::len),
            suppressed: choice.suppressed,
            proposals: choice.chosen.len(),
            allocated_score: millionths(choice.chosen.iter().map(|t| t.score).sum::<f64>()),
        }),
    };

    let selected: Vec<&ShortlistRow> = chosen.iter().map(|&i| kept[i]).collect();
    let text = |name: &str, f: &dyn Fn(&ShortlistRow) -> String| Column::new(name.into(), selected.iter().map(|r| f(r)).collect::<Vec<String>>());
    let optional = |value: &Option<&str>| value.unwrap_or_default().to_string();
    let columns = vec![
        text("campaign_id", &|_| config.campaign_id.clone()),
        text("proposal_id", &|r| format!("{}:{}:{}", config.campaign_id, r.partner_id, r.candidate_id)),
        text("partner_id", &|r| r.partner_id.to_string()),
        text("partner_name", &|r| r.partner_name.to_string()),
        text("partner_contact_name", &|r| optional(&r.partner_contact_name)),
        text("partner_contact_email", &|r| optional(&r.partner_contact_email)),
        text("candidate_id", &|r| r.candidate_id.to_string()),
        text("candidate_name", &|r| r.candidate_name.to_string()),
        text("candidate_contact_name", &|r| optional(&r.candidate_contact_name)),
        text("candidate_contact_email", &|r| optional(&r.candidate_contact_email)),
        Column::new("score".into(), selected.iter().map(|r| r.score).collect::<Vec<f64>>()),
        Column::new("rank".into(), selected.iter().map(|r| r.rank).collect::<Vec<u32>>()),
        text("direction", &|r| r.direction.to_string()),
        text("provider_id", &|r| optional(&r.provider_id)),
        text("beneficiary_id", &|r| optional(&r.beneficiary_id)),
        text("modality", &|r| r.modality.to_string()),
        text("reason", &|r| r.reason.to_string()),
    ];
    let mut frame = DataFrame::new(selected.len(), columns).map_err(write_error("campaign.csv"))?;
    std::fs::create_dir_all(&config.out).map_err(|e| crate::output::OutputIoError {
        path: config.out.clone(),
        source: e,
    })?;
    write_with(&config.out.join("campaign.csv"), |sink| -> Result<(), OutputError> {
        Ok(write_frame(&mut frame, TableFormat::Csv, sink, "campaign.csv")?)
    })?;
    if let Some(choice) = &triad_choice {
        let mut frame = triad_frame(&config.campaign_id, &choice.chosen, &rows)?;
        write_with(&config.out.join("campaign_triads.csv"), |sink| -> Result<(), OutputError> {
            Ok(write_frame(&mut frame, TableFormat::Csv, sink, "campaign_triads.csv")?)
        })?;
    }
    let json = serde_json::to_vec_pretty(&summary).map_err(OutputError::from)?;
    crate::io::atomic::write_file_atomic(&config.out.join("campaign.json"), &json)?;
    Ok(summary)
}

/// The triads proposed as `campaign_triads.csv`, with each member's contact from the
/// shortlist (empty for a member in no list).
fn triad_frame(campaign_id: &str, chosen: &[&TriadRow], rows: &[ShortlistRow]) -> Result<DataFrame, OutputError> {
    let mut contacts: HashMap<&str, (Option<&str>, Option<&str>)> = HashMap::new();
    for row in rows {
        contacts.entry(row.partner_id).or_insert((row.partner_contact_name, row.partner_contact_email));
        contacts.entry(row.candidate_id).or_insert((row.candidate_contact_name, row.candidate_contact_email));
    }
    let text = |name: String, f: &dyn Fn(&TriadRow) -> String| Column::new(name.into(), chosen.iter().map(|t| f(t)).collect::<Vec<String>>());
    let mut columns = vec![
        text("campaign_id".into(), &|_| campaign_id.to_string()),
        text("proposal_id".into(), &|t| format!("{campaign_id}:{}:{}:{}", t.beneficiary.id, t.provider.id, t.third.id)),
    ];
    for (role, member) in [("beneficiary", 0), ("provider", 1), ("third", 2)] {
        let of = move |t: &TriadRow| [&t.beneficiary, &t.provider, &t.third][member].id.to_string();
        let contact = |t: &TriadRow| contacts.get(of(t).as_str()).copied().unwrap_or_default();
        columns.push(text(format!("{role}_id"), &of));
        columns.push(text(format!("{role}_name"), &|t| [&t.beneficiary, &t.provider, &t.third][member].name.to_string()));
        columns.push(text(format!("{role}_contact_name"), &|t| contact(t).0.unwrap_or_default().to_string()));
        columns.push(text(format!("{role}_contact_email"), &|t| contact(t).1.unwrap_or_default().to_string()));
    }
    columns.push(text("third_role".into(), &|t| t.third_role.to_string()));
    columns.push(Column::new("score".into(), chosen.iter().map(|t| t.score).collect::<Vec<f64>>()));
    columns.push(text("reason".into(), &|t| t.reason.to_string()));
    DataFrame::new(chosen.len(), columns).map_err(write_error("campaign_triads.csv"))
}

/// The one-paragraph summary printed after a campaign.
pub fn describe(summary: &CampaignSummary, out: &Path) -> String {
    let mut text = String::new();
    let _ = write!(
        text,
        "campaign {}: {} proposals from {} shortlist rows ({} suppressed) in {}; total score {:.3} of {:.3} without capacity limits (the limits cost {:.1} %)",
        summary.campaign_id,
        summary.proposals,
        summary.candidates,
        summary.suppressed,
        out.display(),
        summary.allocated_score,
        summary.unconstrained_score,
        100.0 * summary.capacity_cost
    );
    if summary.allocation == "greedy" {
        let _ = write!(
            text,
            "; allocated greedily by score (more rows than --exact-limit), at most {:.2} % below the optimum",
            100.0 * summary.optimality_gap_at_most
        );
    }
    if let Some(not_new) = summary.not_new {
        let _ = write!(text, "; {not_new} rows left out as not new since the previous night");
    }
    if let Some(triads) = &summary.triads {
        let _ = write!(text, "; {} triads proposed of {} ({} suppressed), allocated first", triads.proposals, triads.candidates, triads.suppressed);
    }
    text
}
