//! Profiles from a PostgreSQL table or query, as the CSV the file reader already checks.
//!
//! Input: a [`PgUrl`] with `table=NAME` (`schema.name` allowed; names exact, as quoted) or
//! `query=SELECT ...` (run read-only, in one snapshot).
//! Output: the rows as CSV bytes with a header (`COPY ... TO STDOUT`), every column as its
//! text (a boolean `true`/`false`, a number as PostgreSQL prints it, an array or a JSON list
//! joined with `;` as the contract's lists are), ordered by `id` where there is one. The profiles then
//! meet the same reader, contract, rejects and errors as a file.

use std::io::Read;

use postgres::types::{Kind, Type};

use super::{quote_identifier, PgError, PgUrl};

/// Reads the profile rows of `url` as CSV.
pub fn read_profiles(url: &PgUrl) -> Result<Vec<u8>, PgError> {
    let relation = match (url.parameter("table"), url.parameter("query")) {
        // A name is taken exactly (quoted, case kept), `schema.name` split at the dot; a name
        // written with its own double quotes is used as written.
        (Some(table), None) if table.contains('"') => table.to_string(),
        (Some(table), None) => table.split('.').map(quote_identifier).collect::<Vec<_>>().join("."),
        // On its own line, so that a trailing `-- comment` cannot swallow the parenthesis.
        (None, Some(query)) => format!("(\n{}\n) AS profiles", query.trim().trim_end_matches(';')),
        _ => {
            return Err(PgError::Url {
                url: url.shown(),
                reason: "say where the profiles are: table=NAME or query=SELECT... (one of them)".into(),
            })
        }
    };
    let mut client = url.connect()?;
    let statement_error = |e: postgres::Error| url.statement_error(&e);
    // One snapshot for the columns and the rows, and a query cannot write.
    let mut transaction = client.build_transaction().read_only(true).isolation_level(postgres::IsolationLevel::RepeatableRead).start().map_err(statement_error)?;
    let columns = transaction.prepare(&format!("SELECT * FROM {relation} LIMIT 0")).map_err(statement_error)?;
    let columns = columns.columns();
    let select: Vec<String> = columns
        .iter()
        .map(|column| {
            let name = quote_identifier(column.name());
            match column.type_() {
                t if matches!(t.kind(), Kind::Array(_)) => format!("array_to_string({name}, ';') AS {name}"),
                // A JSON list is joined like an array; a JSON scalar is its text, unquoted.
                &Type::JSON | &Type::JSONB => format!(
                    "CASE jsonb_typeof({name}::jsonb) WHEN 'array' THEN (SELECT string_agg(e, ';') FROM jsonb_array_elements_text({name}::jsonb) AS e) ELSE {name}::jsonb #>> '{{}}' END AS {name}"
                ),
                _ => format!("{name}::text AS {name}"),
            }
        })
        .collect();
    let order = if columns.iter().any(|c| c.name() == "id") { " ORDER BY \"id\"" } else { "" };
    let copy = format!("COPY (SELECT {} FROM {relation}{order}) TO STDOUT WITH (FORMAT csv, HEADER true)", select.join(", "));
    let mut csv = Vec::new();
    transaction.copy_out(&copy).map_err(statement_error)?.read_to_end(&mut csv).map_err(|e| PgError::Statement { url: url.shown(), reason: e.to_string() })?;
    transaction.commit().map_err(statement_error)?;
    Ok(csv)
}
