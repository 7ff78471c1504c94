//! The PostgreSQL sink: a run's tables loaded into one schema and published in one
//! transaction.
//!
//! Input: the `--sink` [`PgUrl`] (with `schema=NAME`), the frames the output stage writes to
//! files, and the finished run's manifest. Output, in that schema:
//!
//! - one table per output ([`TABLES`]: `shortlist`, `resources`, `triads`, `changes`,
//!   `rejects`, `clusters`), the run id first, then the file's columns with their types (text, integer,
//!   bigint, real, double precision, boolean); a column a newer engine adds is added to the
//!   table (`ALTER TABLE ... ADD COLUMN`);
//! - `runs`: one row per published run, `run_id`, `published_at` and the manifest as `jsonb`;
//! - `latest_<table>` views: the rows of the last published run;
//! - `sstc_schema`: the schema's version and the engine's mark ([`SCHEMA_VERSION`]; the
//!   engine migrates an older schema itself and refuses a newer one).
//!
//! The rows of a night are copied in (`COPY ... FROM STDIN`, CSV) inside one transaction that
//! commits with the `runs` row, so a reader sees last night or tonight, never half; a job
//! killed before the commit leaves the previous nights as they were. The last `keep_runs`
//! runs are kept. A session-level advisory lock on the schema refuses a second job, and a
//! schema that holds tables the engine did not create is refused, never written into.

use std::io::Write;
use std::sync::Arc;

use polars::prelude::*;

use super::{quote_identifier, PgError, PgUrl};

/// The version of the schema this engine writes.
pub const SCHEMA_VERSION: i32 = 1;

/// The statements that bring a schema from version `i` to `i + 1` (`{schema}` is the quoted
/// schema name). The output tables themselves follow the frames (see the module's header).
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] =
    ["CREATE TABLE {schema}.runs (run_id text PRIMARY KEY, published_at timestamptz NOT NULL, manifest jsonb NOT NULL)"];

/// The output tables a run may write, by name.
pub const TABLES: [&str; 6] = ["shortlist", "resources", "triads", "changes", "rejects", "clusters"];

/// An open sink: the connection holding the schema's lock, and tonight's transaction once
/// begun.
pub struct Sink {
    client: postgres::Client,
    url: PgUrl,
    /// The schema's name as given.
    schema_name: String,
    /// The schema's name quoted for SQL.
    schema: String,
    keep_runs: usize,
    run_id: String,
}

impl Sink {
    /// Connects, takes the schema's lock, creates or migrates the schema. Nothing of a run is
    /// written yet.
    pub fn open(url: &PgUrl, keep_runs: usize) -> Result<Sink, PgError> {
        let schema_name = url
            .parameter("schema")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| PgError::Url { url: url.shown(), reason: "name the schema to write into: schema=NAME".into() })?
            .to_string();
        let mut client = url.connect()?;
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", &[&format!("sstc-match sink {schema_name}")])
            .map_err(|e| url.statement_error(&e))?
            .get(0);
        if !locked {
            return Err(PgError::Statement {
                url: url.shown(),
                reason: format!("another sstc-match job is writing schema '{schema_name}' (it holds the schema's lock); wait for it to finish, or write into another schema"),
            });
        }
        let mut sink = Sink { client, url: url.clone(), schema: quote_identifier(&schema_name), schema_name, keep_runs, run_id: String::new() };
        sink.migrate()?;
        Ok(sink)
    }

    /// Creates the schema, or checks that it is the engine's, and applies the migrations it
    /// lacks, in one transaction.
    fn migrate(&mut self) -> Result<(), PgError> {
        let mut transaction = self.client.transaction().map_err(|e| self.url.statement_error(&e))?;
        let name = &self.schema_name;
        let error = |e: postgres::Error| self.url.statement_error(&e);
        let exists: bool = transaction.query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[name]).map_err(error)?.get(0);
        let marked: bool = transaction.query_one("SELECT to_regclass(format('%I.sstc_schema', $1::text)) IS NOT NULL", &[name]).map_err(error)?.get(0);
        if exists && !marked {
            let foreign: Vec<String> = transaction
                .query("SELECT relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY relname LIMIT 5", &[name])
                .map_err(error)?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if !foreign.is_empty() {
                return Err(PgError::Statement {
                    url: self.url.shown(),
                    reason: format!("schema '{name}' holds tables this engine did not create ({}); nothing was written: give the sink a schema of its own", foreign.join(", ")),
                });
            }
        }
        let schema = &self.schema;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE IF NOT EXISTS {schema}.sstc_schema (version integer NOT NULL, engine_version text NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())"
            ))
            .map_err(error)?;
        let version: i32 = transaction.query_one(&format!("SELECT coalesce(max(version), 0) FROM {schema}.sstc_schema"), &[]).map_err(error)?.get(0);
        if version > SCHEMA_VERSION {
            return Err(PgError::Statement {
                url: self.url.shown(),
                reason: format!("schema '{name}' is at version {version}, written by a newer engine; this one writes version {SCHEMA_VERSION}: upgrade sstc-match"),
            });
        }
        for (from, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            transaction.batch_execute(&migration.replace("{schema}", schema)).map_err(error)?;
            let to = from as i32 + 1;
            transaction.execute(&format!("INSERT INTO {schema}.sstc_schema (version, engine_version) VALUES ($1, $2)"), &[&to, &env!("CARGO_PKG_VERSION")]).map_err(error)?;
        }
        transaction.commit().map_err(error)
    }

    /// Opens tonight's transaction; the rows of an earlier publication of the same run id (the
    /// same night run again) are replaced.
    pub fn begin(&mut self, run_id: &str) -> Result<(), PgError> {
        self.run_id = run_id.to_string();
        self.execute("BEGIN")?;
        for table in self.existing_tables()? {
            let statement = format!("DELETE FROM {}.{} WHERE run_id = $1", self.schema, quote_identifier(&table));
            self.client.execute(&statement, &[&run_id]).map_err(|e| self.url.statement_error(&e))?;
        }
        self.client.execute(&format!("DELETE FROM {}.runs WHERE run_id = $1", self.schema), &[&run_id]).map_err(|e| self.url.statement_error(&e))?;
        Ok(())
    }

    /// Copies one output table into the open transaction, batch by batch, the run id first;
    /// creates the table, or adds the columns it lacks, from `schema`. Returns the rows copied.
    pub fn load(&mut self, table: &str, schema: &Schema, batches: impl IntoIterator<Item = Arc<DataFrame>>) -> Result<u64, PgError> {
        debug_assert!(TABLES.contains(&table), "{table} is one of the sink's tables");
        let columns: Vec<(&PlSmallStr, &DataType)> = schema.iter().filter(|(name, _)| name.as_str() != "run_id").collect();
        self.ensure_table(table, &columns)?;
        let target = Schema::from_iter(std::iter::once(Field::new("run_id".into(), DataType::String)).chain(columns.iter().map(|(name, dtype)| Field::new((*name).clone(), (*dtype).clone()))));
        let list = target.iter_names().map(|n| quote_identifier(n)).collect::<Vec<_>>().join(", ");
        let copy = format!("COPY {}.{} ({list}) FROM STDIN WITH (FORMAT csv)", self.schema, quote_identifier(table));
        let (url, run_id) = (self.url.clone(), self.run_id.clone());
        let polars_error = |e: PolarsError| PgError::Statement { url: url.shown(), reason: format!("cannot copy into {table}: {e}") };
        let mut writer = self.client.copy_in(&copy).map_err(|e| url.statement_error(&e))?;
        let mut csv = CsvWriter::new(&mut writer).include_header(false).batched(&target).map_err(polars_error)?;
        for frame in batches {
            let mut frame = Arc::unwrap_or_clone(frame);
            if frame.column("run_id").is_err() {
                frame.insert_column(0, Column::new("run_id".into(), vec![run_id.as_str(); frame.height()])).map_err(polars_error)?;
            }
            csv.write_batch(&frame.select(target.iter_names_cloned()).map_err(polars_error)?).map_err(polars_error)?;
        }
        csv.finish().map_err(polars_error)?;
        drop(csv);
        writer.flush().map_err(|e| PgError::Statement { url: url.shown(), reason: e.to_string() })?;
        writer.finish().map_err(|e| url.statement_error(&e))
    }

    /// Commits tonight: the `runs` row with the manifest, the runs beyond `keep_runs` removed,
    /// the `latest_` views pointed at tonight. Until this returns, readers see last night.
    pub fn commit(mut self, manifest_json: &str) -> Result<(), PgError> {
        let schema = self.schema.clone();
        let keep = self.keep_runs as i64;
        let error = |e: postgres::Error| self.url.statement_error(&e);
        self.client
            .execute(&format!("INSERT INTO {schema}.runs (run_id, published_at, manifest) VALUES ($1, now(), $2::text::jsonb)"), &[&self.run_id, &manifest_json])
            .map_err(error)?;
        self.client
            .execute(&format!("DELETE FROM {schema}.runs WHERE run_id NOT IN (SELECT run_id FROM {schema}.runs ORDER BY published_at DESC, run_id DESC LIMIT $1)"), &[&keep])
            .map_err(error)?;
        let latest = format!("SELECT run_id FROM {schema}.runs ORDER BY published_at DESC, run_id DESC LIMIT 1");
        for table in self.existing_tables()? {
            let quoted = quote_identifier(&table);
            let view = quote_identifier(&format!("latest_{table}"));
            self.execute(&format!(
                "DELETE FROM {schema}.{quoted} WHERE run_id NOT IN (SELECT run_id FROM {schema}.runs); CREATE OR REPLACE VIEW {schema}.{view} AS SELECT * FROM {schema}.{quoted} WHERE run_id = ({latest})"
            ))?;
        }
        self.execute("COMMIT")
    }

    /// The output tables present in the schema.
    fn existing_tables(&mut self) -> Result<Vec<String>, PgError> {
        let names: Vec<&str> = TABLES.to_vec();
        let rows = self
            .client
            .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 AND table_name = ANY($2) AND table_type = 'BASE TABLE' ORDER BY 1", &[&self.schema_name, &names])
            .map_err(|e| self.url.statement_error(&e))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Creates `table` with the run id and `columns`, or adds the columns an existing one
    /// lacks; a column of another type is an error naming both types.
    fn ensure_table(&mut self, table: &str, columns: &[(&PlSmallStr, &DataType)]) -> Result<(), PgError> {
        let existing: Vec<(String, String)> = self
            .client
            .query("SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2", &[&self.schema_name, &table])
            .map_err(|e| self.url.statement_error(&e))?
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        let target = format!("{}.{}", self.schema, quote_identifier(table));
        let mut statements = Vec::new();
        if existing.is_empty() {
            let definitions: Vec<String> = columns.iter().map(|(name, dtype)| format!("{} {}", quote_identifier(name), column_type(dtype))).collect();
            statements.push(format!("CREATE TABLE {target} (run_id text NOT NULL, {})", definitions.join(", ")));
            statements.push(format!("CREATE INDEX ON {target} (run_id)"));
        }
        for (name, dtype) in columns.iter().filter(|_| !existing.is_empty()) {
            let wanted = column_type(dtype);
            match existing.iter().find(|(column, _)| column == name.as_str()) {
                None => statements.push(format!("ALTER TABLE {target} ADD COLUMN {} {wanted}", quote_identifier(name))),
                Some((_, found)) if found != wanted => {
                    return Err(PgError::Statement {
                        url: self.url.shown(),
                        reason: format!("{}.{table}.{name} is {found}, this engine writes {wanted}; alter the column or give the sink a new schema", self.schema_name),
                    })
                }
                Some(_) => {}
            }
        }
        statements.iter().try_for_each(|statement| self.execute(statement))
    }

    fn execute(&mut self, statements: &str) -> Result<(), PgError> {
        self.client.batch_execute(statements).map_err(|e| self.url.statement_error(&e))
    }
}

/// The PostgreSQL type a column of `dtype` is stored as (as `information_schema` names it).
fn column_type(dtype: &DataType) -> &'static str {
    match dtype {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 => "bigint",
        DataType::UInt64 => "numeric",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        _ => "text",
    }
}
