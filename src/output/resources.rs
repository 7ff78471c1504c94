//! `resources.csv` and `resources.parquet`: for every partner in need (active, taking the
//! beneficiary role, with a declared need), its best funders and facilitators
//! ([`crate::engine::support`]).
//!
//! Input: the resource lists, the supporters, profiles and reference data. Output, written in
//! batches of partners (memory holds a batch, not the table), one row per partner in need
//! and rank: `partner_id, rank, candidate_id, score, role`, then
//! `term_funding, term_focus, term_capacity` (contributions, summing to `score`),
//! `needs_backed` (theme ids, `;`-separated), `modality` (by the triangular definition in
//! force), `partner_name, partner_country, partner_actor_type, candidate_name, candidate_country,
//! candidate_actor_type, candidate_contact_name, candidate_contact_email,
//! partner_contact_name, partner_contact_email, reason, run_id`.

use polars::prelude::*;

use super::sentence::support_reason;
use super::{batch_frames, write_batches, write_error, Destinations, OutputError};
use crate::engine::modality::{classify, TriangularDefinition};
use crate::engine::profile::Profile;
use crate::engine::rank::top_k::Hit;
use crate::engine::reference::Reference;
use crate::engine::support::{Support, Supporters, SUPPORT_TERMS};
use crate::io::run_dir::{RESOURCES_CSV, RESOURCES_PARQUET};
use crate::io::table::TableFormat;
use crate::PartnerIdx;

/// What the rows are built from.
pub struct ResourceContext<'a> {
    /// The run id stamped on every row.
    pub run_id: &'a str,
    /// Profiles, by partner index.
    pub profiles: &'a [Profile],
    /// Reference data.
    pub reference: &'a Reference,
    /// The supporters that were ranked.
    pub supporters: &'a Supporters<'a>,
    /// The definition that labels a pair triangular.
    pub triangular: TriangularDefinition,
}

/// One row: the partner in need, the rank, the supporter and its support.
struct ResourceRow {
    needy: PartnerIdx,
    rank: u32,
    supporter: PartnerIdx,
    support: Support,
}

/// Writes the files of `formats`, a batch of partners at a time; returns the row count.
pub fn write(out: &mut Destinations, context: &ResourceContext, needy: &[PartnerIdx], lists: &[Vec<Hit>], formats: &[TableFormat]) -> Result<usize, OutputError> {
    let schema = frame(context, &[])?.schema().as_ref().clone();
    let frames = batch_frames(needy.len(), RESOURCES_CSV, |piece| frame(context, &rows(context, &needy[piece.clone()], &lists[piece])));
    write_batches(out, ((RESOURCES_CSV, RESOURCES_PARQUET), "resources"), formats, &schema, frames)
}

/// The rows of the partners in `needy`, each its list's supporters in rank order.
fn rows(context: &ResourceContext, needy: &[PartnerIdx], lists: &[Vec<Hit>]) -> Vec<ResourceRow> {
    needy
        .iter()
        .zip(lists)
        .flat_map(|(&b, list)| {
            list.iter().enumerate().map(move |(rank, hit)| {
                let support = context.supporters.support(hit.candidate, b).expect("a listed supporter supports");
                ResourceRow { needy: b, rank: rank as u32 + 1, supporter: hit.candidate, support }
            })
        })
        .collect()
}

fn frame<'a>(context: &ResourceContext<'a>, rows: &[ResourceRow]) -> Result<DataFrame, OutputError> {
    let (p, r) = (context.profiles, context.reference);
    let needy = |row: &ResourceRow| -> &'a Profile { &p[row.needy as usize] };
    let supporter = |row: &ResourceRow| -> &'a Profile { &p[row.supporter as usize] };
    // Text is borrowed from the profiles and reference tables, not copied per row.
    let text = |name: &str, f: &dyn Fn(&ResourceRow) -> &'a str| Column::new(name.into(), rows.iter().map(f).collect::<Vec<&str>>());
    let optional = |name: &str, f: &dyn Fn(&ResourceRow) -> Option<&'a str>| Column::new(name.into(), rows.iter().map(f).collect::<Vec<Option<&str>>>());
    let owned = |name: &str, f: &dyn Fn(&ResourceRow) -> String| Column::new(name.into(), rows.iter().map(f).collect::<Vec<String>>());
    let country = |profile: &Profile| -> &'a str { r.countries[profile.country as usize].iso3.as_str() };
    let features = context.supporters.features();
    let mut columns = vec![
        text("partner_id", &|row| needy(row).id.as_str()),
        Column::new("rank".into(), rows.iter().map(|row| row.rank).collect::<Vec<u32>>()),
        text("candidate_id", &|row| supporter(row).id.as_str()),
        Column::new("score".into(), rows.iter().map(|row| row.support.score).collect::<Vec<f32>>()),
        text("role", &|row| row.support.role.as_str()),
    ];
    for (t, term) in SUPPORT_TERMS.iter().enumerate() {
        columns.push(Column::new(format!("term_{term}").into(), rows.iter().map(|row| row.support.contributions[t]).collect::<Vec<f32>>()));
    }
    columns.extend([
        owned("needs_backed", &|row| r.themes.ids_of(row.support.backed_needs)),
        text("modality", &|row| classify(features, row.supporter as usize, row.needy as usize, context.triangular).name()),
        text("partner_name", &|row| needy(row).name.as_str()),
        text("partner_country", &|row| country(needy(row))),
        text("partner_actor_type", &|row| r.actor_types.id(needy(row).actor_type as usize)),
        text("candidate_name", &|row| supporter(row).name.as_str()),
        text("candidate_country", &|row| country(supporter(row))),
        text("candidate_actor_type", &|row| r.actor_types.id(supporter(row).actor_type as usize)),
        optional("candidate_contact_name", &|row| supporter(row).contact_name.as_deref()),
        optional("candidate_contact_email", &|row| supporter(row).contact_email.as_deref()),
        optional("partner_contact_name", &|row| needy(row).contact_name.as_deref()),
        optional("partner_contact_email", &|row| needy(row).contact_email.as_deref()),
        owned("reason", &|row| support_reason(needy(row), supporter(row), &row.support, r)),
        Column::new("run_id".into(), vec![context.run_id; rows.len()]),
    ]);
    DataFrame::new(rows.len(), columns).map_err(write_error(RESOURCES_CSV))
}
