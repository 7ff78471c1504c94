//! The shortlist tables, `shortlist.csv` and `shortlist.parquet`.
//!
//! Input: ranked [`Shortlist`]s, the [`Scorer`] that ranked them (explanations are recomputed
//! through it for the survivors only), profiles, cluster assignment and the donors' support
//! proposals, written as their lists. Output: both files, written batch by batch so memory
//! stays bounded by the batch, not by N × k.
//!
//! # Columns (one row per partner and rank)
//!
//! | column | meaning |
//! |---|---|
//! | `run_id` | the run (see manifest.json) |
//! | `partner_id`, `partner_name`, `partner_country`, `partner_actor_type` | whose shortlist this is |
//! | `rank` | 1-based |
//! | `candidate_id`, `candidate_name`, `candidate_country`, `candidate_actor_type`, `candidate_entity_kind`, `candidate_city` | the proposed partner |
//! | `score` | the sum of the `term_*` columns |
//! | `term_<name>` | weighted contribution of each pair term (see README, "Score terms"), then of each support term (0 but on a support proposal) |
//! | `direction` | `partner_provides`, `candidate_provides`, `mutual` or `peers`; `partner_funds` or `partner_facilitates` for a support proposal |
//! | `modality` | `south_south`, `triangular`, `city_to_city`, `decentralised`, `north_south`, `north_north`, `trade_union_sse`, `multi_stakeholder` (see `modality`) |
//! | `provider_id`, `beneficiary_id` | for one-way matches and support proposals; empty for `mutual` and `peers` |
//! | `candidate_offers` | themes the candidate offers that the partner needs (`;`-separated ids) |
//! | `partner_offers` | themes the partner offers that the candidate needs |
//! | `distance_km`, `cross_border` | geography facts |
//! | `partner_cluster`, `candidate_cluster` | k-means cluster ids (clusters.csv) |
//! | `candidate_contact_name`, `candidate_contact_email` | carried through for outreach |
//! | `partner_contact_name`, `partner_contact_email` | the partner's own, for campaigns |
//! | `partner_capacity`, `candidate_capacity` | new partnerships each can take on in a campaign (empty: no limit) |
//! | `reason` | one plain sentence |

use std::collections::HashMap;

use polars::prelude::*;

use super::sentence::{proposal_reason, reason};
use super::{batch_frames, write_batches, write_error, Destinations, OutputError};
use crate::engine::features::distance_km;
use crate::engine::modality::{Modality, TriangularDefinition};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::{Hit, Shortlist};
use crate::engine::reference::Reference;
use crate::engine::score::{Direction, Scorer, Term, TermValues};
use crate::engine::support::{Supporters, SUPPORT_TERMS};
use crate::engine::triads::Triad;
use crate::io::run_dir::{SHORTLIST_CSV, SHORTLIST_PARQUET};
use crate::io::table::TableFormat;
use crate::PartnerIdx;

/// Bytes the shortlist files of `partners` lists of `top_k` may take at most: a list holds
/// at most every other partner, and a row well under 1 KB in CSV plus Parquet. Saturates
/// instead of overflowing, for any `top_k`.
pub fn estimated_bytes(partners: usize, top_k: usize) -> u64 {
    let rows = (partners as u64).saturating_mul(top_k.min(partners.saturating_sub(1)) as u64);
    rows.saturating_mul(1024).saturating_add(1 << 20)
}

/// What the shortlist rows are built from.
pub struct ShortlistContext<'a> {
    /// The run id stamped on every row.
    pub run_id: &'a str,
    /// Profiles, indexed by partner index.
    pub profiles: &'a [Profile],
    /// Reference data (labels, countries).
    pub reference: &'a Reference,
    /// Cluster of every partner.
    pub assignment: &'a [u32],
    /// The scorer that ranked the lists.
    pub scorer: &'a Scorer<'a>,
    /// The support proposals written in place of their proposers' pair lists, if any.
    pub proposals: Option<&'a SupportProposals<'a>>,
}

/// The support proposals of the supporters that take no other role: each one's list in the
/// shortlist files is what it could support ([`crate::engine::triads::TriadSearch::proposals`]).
pub struct SupportProposals<'a> {
    /// Each proposer's proposals, best first.
    pub by_proposer: HashMap<PartnerIdx, Vec<Triad>>,
    /// The supporters, for the support terms.
    pub supporters: &'a Supporters<'a>,
    /// The triangular definition, for the modality.
    pub definition: TriangularDefinition,
}

impl SupportProposals<'_> {
    /// The list written for `list`'s partner: its proposals when it has them, else its hits.
    pub fn is_empty_for(&self, list: &Shortlist) -> bool {
        self.by_proposer.get(&list.partner).map_or(list.hits.is_empty(), Vec::is_empty)
    }
}

/// The list the shortlist files hold for one partner.
pub enum Written<'a> {
    /// A donor's support proposals, in place of its pair list.
    Proposals(&'a SupportProposals<'a>, &'a [Triad]),
    /// The partner's pair list.
    Pairs(&'a [Hit]),
}

impl<'a> Written<'a> {
    /// What is written for `list`'s partner: its support proposals when it has them, else
    /// its hits.
    pub fn of(proposals: Option<&'a SupportProposals<'a>>, list: &'a Shortlist) -> Written<'a> {
        match proposals.and_then(|p| Some((p, p.by_proposer.get(&list.partner)?))) {
            Some((proposals, triads)) => Written::Proposals(proposals, triads),
            None => Written::Pairs(&list.hits),
        }
    }

    /// The candidates, best first (a proposal's candidate is its beneficiary).
    pub fn candidates(&self) -> Vec<PartnerIdx> {
        match self {
            Written::Proposals(_, triads) => triads.iter().map(|t| t.beneficiary).collect(),
            Written::Pairs(hits) => hits.iter().map(|h| h.candidate).collect(),
        }
    }
}

/// One row: a pair of the partner's list, or one of its support proposals.
struct Row {
    partner: usize,
    rank: u32,
    candidate: usize,
    score: f32,
    /// Contributions of the pair terms (for a proposal: half of its exchange's).
    terms: TermValues,
    /// Contributions of the support terms (for a proposal: half of its support's; else 0).
    support_terms: [f32; SUPPORT_TERMS.len()],
    direction: &'static str,
    modality: Modality,
    provider_and_beneficiary: Option<(usize, usize)>,
    partner_offers: IdSet,
    candidate_offers: IdSet,
    distance_km: f32,
    cross_border: bool,
    reason: String,
}

/// Writes `shortlist.csv` and `shortlist.parquet` (those of `formats`) into the staging area;
/// returns the row count.
pub fn write(
    out: &mut Destinations,
    context: &ShortlistContext,
    lists: &[Shortlist],
    formats: &[TableFormat],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<usize, OutputError> {
    let schema = frame(context, Vec::new())?.schema().as_ref().clone();
    let frames = batch_frames(lists.len(), "shortlist", |piece| {
        let frame = frame(context, rows(context, &lists[piece.clone()]));
        progress(piece.len() as u64);
        frame
    });
    write_batches(out, ((SHORTLIST_CSV, SHORTLIST_PARQUET), "shortlist"), formats, &schema, frames)
}

/// The rows of `lists`, best first within each list.
fn rows(context: &ShortlistContext, lists: &[Shortlist]) -> Vec<Row> {
    lists
        .iter()
        .flat_map(|list| -> Box<dyn Iterator<Item = Row> + '_> {
            match Written::of(context.proposals, list) {
                Written::Proposals(proposals, triads) => Box::new(triads.iter().enumerate().map(move |(rank, t)| proposal_row(context, proposals, rank, t))),
                Written::Pairs(hits) => Box::new(hits.iter().enumerate().map(move |(rank, hit)| pair_row(context, list.partner, rank, hit.candidate, hit.score))),
            }
        })
        .collect()
}

fn pair_row(context: &ShortlistContext, partner: PartnerIdx, rank: usize, candidate: PartnerIdx, score: f32) -> Row {
    let explanation = context.scorer.explain(partner, candidate);
    debug_assert_eq!(explanation.score, score, "explain and rank share one formula");
    let (partner, candidate) = (partner as usize, candidate as usize);
    let reason = reason(&context.profiles[partner], &context.profiles[candidate], &explanation, context.reference);
    Row {
        partner,
        rank: rank as u32 + 1,
        candidate,
        score: explanation.score,
        terms: explanation.contributions,
        support_terms: [0.0; SUPPORT_TERMS.len()],
        direction: explanation.direction.as_str(),
        modality: explanation.modality,
        provider_and_beneficiary: match explanation.direction {
            Direction::PartnerProvides => Some((partner, candidate)),
            Direction::CandidateProvides => Some((candidate, partner)),
            Direction::Mutual | Direction::Peers => None,
        },
        partner_offers: explanation.partner_offers,
        candidate_offers: explanation.candidate_offers,
        distance_km: explanation.distance_km,
        cross_border: explanation.cross_border,
        reason,
    }
}

/// A support proposal as a row of its third's list: the candidate is the beneficiary, the
/// provider is named, and the score (the triad score) is half the exchange's pair terms
/// plus half the support's terms.
fn proposal_row(context: &ShortlistContext, proposals: &SupportProposals, rank: usize, triad: &Triad) -> Row {
    let f = context.scorer.features();
    let (third, beneficiary, provider) = (triad.third as usize, triad.beneficiary as usize, triad.provider as usize);
    let exchange = context.scorer.explain(triad.provider, triad.beneficiary);
    let support = proposals.supporters.support(triad.third, triad.beneficiary).expect("a proposal's third supports its beneficiary");
    let modality = triad.modality(f, proposals.definition);
    Row {
        partner: third,
        rank: rank as u32 + 1,
        candidate: beneficiary,
        score: triad.score,
        terms: exchange.contributions.map(|c| 0.5 * c),
        support_terms: support.contributions.map(|c| 0.5 * c),
        direction: triad.role.direction(),
        modality,
        provider_and_beneficiary: Some((provider, beneficiary)),
        partner_offers: IdSet::default(),
        candidate_offers: IdSet::default(),
        distance_km: distance_km(&f.unit[third], &f.unit[beneficiary]),
        cross_border: f.country[third] != f.country[beneficiary],
        reason: proposal_reason(triad, modality, context.profiles, proposals.definition, context.reference),
    }
}

fn frame<'a>(context: &ShortlistContext<'a>, rows: Vec<Row>) -> Result<DataFrame, OutputError> {
    let p = context.profiles;
    let r = context.reference;
    let country = |i: usize| r.countries[p[i].country as usize].iso3.as_str();
    // Text is borrowed from the profiles and reference tables, not copied per row.
    let text = |f: &dyn Fn(&Row) -> &'a str| rows.iter().map(f).collect::<Vec<&str>>();
    let optional = |f: &dyn Fn(&Row) -> Option<&'a str>| rows.iter().map(f).collect::<Vec<Option<&str>>>();
    let owned = |f: &dyn Fn(&Row) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let mut columns = vec![
        Column::new("run_id".into(), vec![context.run_id; rows.len()]),
        Column::new("partner_id".into(), text(&|row| p[row.partner].id.as_str())),
        Column::new("partner_name".into(), text(&|row| p[row.partner].name.as_str())),
        Column::new("partner_country".into(), text(&|row| country(row.partner))),
        Column::new(
            "partner_actor_type".into(),
            text(&|row| r.actor_types.id(p[row.partner].actor_type as usize)),
        ),
        Column::new("rank".into(), rows.iter().map(|row| row.rank).collect::<Vec<u32>>()),
        Column::new("candidate_id".into(), text(&|row| p[row.candidate].id.as_str())),
        Column::new("candidate_name".into(), text(&|row| p[row.candidate].name.as_str())),
        Column::new("candidate_country".into(), text(&|row| country(row.candidate))),
        Column::new(
            "candidate_actor_type".into(),
            text(&|row| r.actor_types.id(p[row.candidate].actor_type as usize)),
        ),
        Column::new(
            "candidate_entity_kind".into(),
            text(&|row| p[row.candidate].entity_kind.as_str()),
        ),
        Column::new("candidate_city".into(), optional(&|row| p[row.candidate].city.as_deref())),
        Column::new(
            "score".into(),
            rows.iter().map(|row| row.score).collect::<Vec<f32>>(),
        ),
    ];
    for term in Term::ALL {
        columns.push(Column::new(
            format!("term_{}", term.name()).into(),
            rows.iter().map(|row| row.terms[term as usize]).collect::<Vec<f32>>(),
        ));
    }
    for (t, name) in SUPPORT_TERMS.iter().enumerate() {
        columns.push(Column::new(
            format!("term_{name}").into(),
            rows.iter().map(|row| row.support_terms[t]).collect::<Vec<f32>>(),
        ));
    }
    columns.extend([
        Column::new("direction".into(), text(&|row| row.direction)),
        Column::new("modality".into(), text(&|row| row.modality.name())),
        Column::new(
            "provider_id".into(),
            optional(&|row| row.provider_and_beneficiary.map(|(a, _)| p[a].id.as_str())),
        ),
        Column::new(
            "beneficiary_id".into(),
            optional(&|row| row.provider_and_beneficiary.map(|(_, b)| p[b].id.as_str())),
        ),
        Column::new(
            "candidate_offers".into(),
            owned(&|row| r.themes.ids_of(row.candidate_offers)),
        ),
        Column::new(
            "partner_offers".into(),
            owned(&|row| r.themes.ids_of(row.partner_offers)),
        ),
        Column::new(
            "distance_km".into(),
            rows.iter()
                .map(|row| (row.distance_km * 10.0).round() / 10.0)
                .collect::<Vec<f32>>(),
        ),
        Column::new(
            "cross_border".into(),
            rows.iter().map(|row| row.cross_border).collect::<Vec<bool>>(),
        ),
        Column::new(
            "partner_cluster".into(),
            rows.iter().map(|row| context.assignment[row.partner]).collect::<Vec<u32>>(),
        ),
        Column::new(
            "candidate_cluster".into(),
            rows.iter().map(|row| context.assignment[row.candidate]).collect::<Vec<u32>>(),
        ),
        Column::new(
            "candidate_contact_name".into(),
            optional(&|row| p[row.candidate].contact_name.as_deref()),
        ),
        Column::new(
            "candidate_contact_email".into(),
            optional(&|row| p[row.candidate].contact_email.as_deref()),
        ),
        Column::new(
            "partner_contact_name".into(),
            optional(&|row| p[row.partner].contact_name.as_deref()),
        ),
        Column::new(
            "partner_contact_email".into(),
            optional(&|row| p[row.partner].contact_email.as_deref()),
        ),
        Column::new(
            "partner_capacity".into(),
            rows.iter().map(|row| p[row.partner].capacity).collect::<Vec<Option<u32>>>(),
        ),
        Column::new(
            "candidate_capacity".into(),
            rows.iter().map(|row| p[row.candidate].capacity).collect::<Vec<Option<u32>>>(),
        ),
        Column::new("reason".into(), rows.iter().map(|row| row.reason.as_str()).collect::<Vec<&str>>()),
    ]);
    DataFrame::new(rows.len(), columns).map_err(write_error("shortlist"))
}
