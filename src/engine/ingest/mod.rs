//! Ingest: read one profile table and keep every row accounted for.
//!
//! Input: a [`TableSource`] in the profile contract (CSV or Parquet). Output: [`Ingested`]:
//! the valid profiles sorted by id, one [`Rejection`] per problem of every row that was
//! not accepted, and the likely duplicate records ([`duplicates`]). A problem of a row never stops the job; a problem of the file (unreadable,
//! not CSV/Parquet, a required column missing) is an [`IngestError`] before anything is
//! written.

mod duplicates;
mod validate;

use std::collections::HashMap;

use rayon::iter::Either;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::engine::profile::Profile;
use crate::engine::reference::Reference;
use crate::io::table::{StringTable, TableError, TableSource};

pub use duplicates::{likely_duplicates, DuplicateLink, Duplicates};
pub use validate::{Columns, REQUIRED_COLUMNS};

/// One problem of one input row. A rejected row has one or more of these.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// The input file.
    pub file: String,
    /// 1-based data row (the header is row 0; in a spreadsheet this is line `row + 1`).
    pub row: usize,
    /// The column at fault.
    pub column: String,
    /// The offending value as read (empty when the value is missing).
    pub value: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// What ingest hands to the rest of the pipeline.
pub struct Ingested {
    /// Valid profiles, sorted by id.
    pub profiles: Vec<Profile>,
    /// Every problem of every rejected row, by row.
    pub rejects: Vec<Rejection>,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows rejected (a row with several problems counts once).
    pub rows_rejected: usize,
    /// sha256 of the input bytes, hex.
    pub sha256: String,
    /// Order-independent digest of the table's content (see [`content_digest`]): the same
    /// rows in any order, with columns in any order, give the same digest.
    pub content_digest: String,
    /// Columns present in the file that the contract does not define (ignored).
    pub ignored_columns: Vec<String>,
    /// How the file was read, where it was not plain comma-separated UTF-8.
    pub notes: Vec<String>,
    /// Records that are likely one partner under different ids.
    pub duplicates: std::sync::Arc<Duplicates>,
}

/// Why the input as a whole cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file cannot be read as a table.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Required columns are absent.
    #[error("{file}: missing required column(s) {}; the header has: {}. Add the column(s) (see the profile contract in README.md){hint}", missing.join(", "), found.join(", "))]
    MissingColumns {
        /// The input file.
        file: String,
        /// Required columns not found.
        missing: Vec<String>,
        /// Columns the header does have.
        found: Vec<String>,
        /// A likely cause, when one is recognisable (e.g. `;`-separated values).
        hint: String,
    },
}

/// Reads, validates and sorts the profiles of one table.
pub fn ingest(source: &TableSource, reference: &Reference) -> Result<Ingested, IngestError> {
    let (table, sha256) = StringTable::read_hashed(source, &|name| validate::is_contract_column(name, reference))?;
    let columns = Columns::locate(&table, reference)?;
    let file = table.source_name().to_string();

    let outcomes: Vec<Result<Profile, Vec<Rejection>>> = (0..table.height())
        .into_par_iter()
        .map(|row| validate::row(&table, &columns, row, reference))
        .collect();

    // The rows of each id held by more than one, found by sorting the ids: no map of every id
    // (a million entries hashed by SipHash, each with its vector, were 5 % of a million-row
    // ingest's samples).
    let mut ids: Vec<(&str, usize)> = (0..table.height()).filter_map(|row| Some((table.cell(columns.id, row)?, row))).collect();
    ids.par_sort_unstable();
    let rows_by_id: HashMap<&str, Vec<usize>> = ids.chunk_by(|a, b| a.0 == b.0).filter(|rows| rows.len() > 1).map(|rows| (rows[0].0, rows.iter().map(|&(_, row)| row).collect())).collect();

    // A dropped record is named by its id where it has one (its field under the id column).
    let id_field = table.header().iter().position(|n| n == "id");
    let mut rejects: Vec<Rejection> = table
        .dropped()
        .iter()
        .map(|d| Rejection {
            file: file.clone(),
            row: d.row + 1,
            column: "id".into(),
            value: id_field.and_then(|f| d.fields.get(f)).cloned().unwrap_or_default(),
            reason: d.reason.clone(),
        })
        .collect();
    let mut rows_rejected = rejects.len();
    let duplicate_of = |row: usize| table.cell(columns.id, row).and_then(|id| rows_by_id.get(id).map(|rows| (id, rows)));
    // The valid profiles moved out on the pool (on one core, moving a million took 0.8 s).
    let (mut profiles, refused): (Vec<Profile>, Vec<(usize, Vec<Rejection>)>) = outcomes.into_par_iter().enumerate().partition_map(|(row, outcome)| match outcome {
        Ok(profile) if duplicate_of(row).is_none() => Either::Left(profile),
        Ok(_) => Either::Right((row, Vec::new())),
        Err(problems) => Either::Right((row, problems)),
    });
    for (row, mut problems) in refused {
        if let Some((id, rows)) = duplicate_of(row) {
            // The first few others: ten thousand rows sharing an id must not each list the rest.
            const NAMED: usize = 5;
            let named: Vec<String> = rows
                .iter()
                .filter(|&&r| r != row)
                .take(NAMED)
                .map(|&r| (table.source_row(r) + 1).to_string())
                .collect();
            let mut others = named.join(", ");
            if rows.len() - 1 > NAMED {
                others.push_str(&format!(" and {} more", rows.len() - 1 - NAMED));
            }
            problems.insert(
                0,
                Rejection {
                    file: file.clone(),
                    row: table.source_row(row) + 1,
                    column: "id".into(),
                    value: id.to_string(),
                    reason: format!(
                        "duplicate id: also on row(s) {others}; every row with this id is rejected because it is unclear which is current; keep one"
                    ),
                },
            );
        }
        rows_rejected += 1;
        rejects.extend(problems);
    }
    // Ids are unique among the profiles kept (a shared id rejects every row holding it).
    profiles.par_sort_unstable_by(|a, b| a.id.cmp(&b.id));
    rejects.sort_by_key(|r| r.row);

    let ignored_columns = table.ignored().to_vec();
    let duplicates = std::sync::Arc::new(likely_duplicates(&profiles));
    Ok(Ingested {
        duplicates,
        profiles,
        rejects,
        rows_read: table.height() + table.dropped().len(),
        rows_rejected,
        sha256,
        content_digest: content_digest(&table),
        ignored_columns,
        notes: table.notes().to_vec(),
    })
}

/// A multiset hash of the rows: each row's `column=value` pairs of the contract's columns,
/// sorted by column name, are hashed with sha256, and the row hashes are added (wrapping,
/// 128-bit lanes), so neither row nor column order, nor an ignored column, changes the
/// result.
pub fn content_digest(table: &StringTable) -> String {
    let mut order: Vec<usize> = (0..table.column_names().len()).collect();
    order.sort_by(|&a, &b| table.column_names()[a].cmp(&table.column_names()[b]));
    let (low, high) = (0..table.height())
        .into_par_iter()
        .map(|row| {
            let mut hasher = Sha256::new();
            for &c in &order {
                hasher.update(table.column_names()[c].as_bytes());
                hasher.update([0x1e]);
                hasher.update(table.cell(c, row).unwrap_or_default().as_bytes());
                hasher.update([0x1f]);
            }
            let digest = hasher.finalize();
            let lane = |bytes: &[u8]| u128::from_le_bytes(bytes.try_into().expect("16 bytes"));
            (lane(&digest[..16]), lane(&digest[16..]))
        })
        .reduce(|| (0, 0), |a, b| (a.0.wrapping_add(b.0), a.1.wrapping_add(b.1)));
    format!("{high:032x}{low:032x}")
}

