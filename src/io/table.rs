//! Tables in and out, through polars.
//!
//! Input: a CSV or Parquet source (a file, bytes embedded in the binary, or a PostgreSQL
//! table read as CSV) and which columns the caller wants. Output: a [`StringTable`], every
//! wanted column read as text so that validation, not the reader, decides what a bad value
//! is; the other columns are named, never decoded. The other direction: [`write_frame`]
//! writes a polars `DataFrame` as CSV or Parquet, chosen by [`TableFormat`].
//!
//! A CSV file is read the way a careful person would: its bytes are recognised first (an
//! Excel workbook, UTF-16, Latin-1 or binary data is an error saying what to do), line
//! endings and the separator are sniffed (`;` and tab are read, and said so in
//! [`StringTable::notes`]), the header's names are checked (two spellings of one name are an
//! error), and records are split here, quotes respected, so that a record with too many or
//! too few fields, or invalid UTF-8, is rejected alone by its row number while the rest of
//! the file is read. A Parquet file's wanted columns are bounded in what they decode to
//! before they are read. No message of the table library reaches a user alone: each is
//! given with the file and what to do.

use std::collections::HashSet;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;

use crate::io::postgresql::source::read_profiles;
use crate::io::postgresql::{PgError, PgUrl};

/// Where a table comes from: a file on disk or bytes in memory.
#[derive(Clone, Debug)]
pub enum TableSource {
    /// A file; its format is taken from its extension.
    File(PathBuf),
    /// Bytes in memory (embedded in the binary, or given by a test or a fuzzer), with the
    /// name shown in messages.
    Bytes {
        /// Display name, e.g. `data/profiles/default.csv (built in)`.
        name: String,
        /// The file's bytes.
        bytes: std::borrow::Cow<'static, [u8]>,
        /// The format of the bytes.
        format: TableFormat,
    },
    /// A PostgreSQL table or query (`postgresql://...?table=NAME`), read as CSV.
    Database(PgUrl),
}

impl TableSource {
    /// The name to show in messages and rejects: the path or the embedded name.
    pub fn display_name(&self) -> String {
        match self {
            TableSource::File(path) => path.display().to_string(),
            TableSource::Bytes { name, .. } => name.clone(),
            TableSource::Database(url) => url.shown(),
        }
    }

    /// The format: a file's extension, or the bytes' declared format.
    pub fn format(&self) -> Result<TableFormat, TableError> {
        match self {
            TableSource::File(path) => TableFormat::from_path(path),
            TableSource::Bytes { format, .. } => Ok(*format),
            TableSource::Database(_) => Ok(TableFormat::Csv),
        }
    }

    /// The raw bytes of the source.
    pub fn read_bytes(&self) -> Result<Vec<u8>, TableError> {
        match self {
            TableSource::File(path) => std::fs::read(path).map_err(|e| TableError::Unreadable {
                source_name: path.display().to_string(),
                reason: e.to_string(),
            }),
            TableSource::Bytes { bytes, .. } => Ok(bytes.to_vec()),
            TableSource::Database(url) => Ok(read_profiles(url)?),
        }
    }
}

/// The two table formats the engine reads and writes (`--formats` names them in lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// UTF-8 CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// Both formats, CSV first: what a run writes unless `--formats` says otherwise.
    pub const ALL: [TableFormat; 2] = [TableFormat::Csv, TableFormat::Parquet];

    /// The format named by a path's extension (`.csv`, `.parquet` or `.pq`).
    pub fn from_path(path: &Path) -> Result<Self, TableError> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet") | Some("pq") => Ok(TableFormat::Parquet),
            _ => Err(TableError::UnknownFormat {
                source_name: path.display().to_string(),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            TableFormat::Csv => "CSV",
            TableFormat::Parquet => "Parquet",
        }
    }
}

/// Why a whole table could not be read or written. Row-level problems are not here: they are
/// rejections (see `ingest`).
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The extension names neither CSV nor Parquet.
    #[error("{source_name}: not a CSV or Parquet file; give it a .csv or .parquet extension")]
    UnknownFormat {
        /// The file.
        source_name: String,
    },
    /// The file could not be opened or read.
    #[error("{source_name}: cannot read the file: {reason}")]
    Unreadable {
        /// The file.
        source_name: String,
        /// The operating system's message.
        reason: String,
    },
    /// The bytes are recognisably something else than the announced format.
    #[error("{source_name}: {what}")]
    NotThisFormat {
        /// The file.
        source_name: String,
        /// What the bytes are, and what to do.
        what: String,
    },
    /// The content is not a valid table of the announced format.
    #[error("{source_name}: not a valid {format} table ({reason}); it may be damaged or truncated: export it again")]
    Malformed {
        /// The file.
        source_name: String,
        /// "CSV" or "Parquet".
        format: &'static str,
        /// What was found wrong (the table library's words, when it is the one that knows).
        reason: String,
    },
    /// A column holds values that cannot be read as text (e.g. a nested Parquet list).
    #[error("{source_name}: column '{column}' has type {dtype}, which cannot be read as text; store it as a string or number")]
    ColumnType {
        /// The file.
        source_name: String,
        /// The column.
        column: String,
        /// The column's type in the file.
        dtype: String,
    },
    /// The file has no bytes at all.
    #[error("{source_name}: the file is empty; it needs a header row (id,name,actor_type,country_iso3,...) and one row per partner")]
    Empty {
        /// The file.
        source_name: String,
    },
    /// Two columns of the header have the same name (up to case and spaces).
    #[error("{source_name}: {spellings} in the header; keep one")]
    DuplicateColumn {
        /// The file.
        source_name: String,
        /// How the name appears twice.
        spellings: String,
    },
    /// A quote opens a field of the header and never closes (in a row, the row is rejected).
    #[error("{source_name}: the header: a quote opens a field that never closes, so the rest of the file would be one value; close the quote or remove the stray one")]
    OpenQuote {
        /// The file.
        source_name: String,
    },
    /// The wanted columns would decode to more than the memory this process may use.
    #[error("{source_name}: its columns decode to about {decoded_mb} MB, more than the {limit_mb} MB this run may use (half the memory available to it); split the file, or run where more memory is available")]
    TooLarge {
        /// The file.
        source_name: String,
        /// What the wanted columns decode to.
        decoded_mb: u64,
        /// The limit.
        limit_mb: u64,
    },
    /// A PostgreSQL source cannot be reached or read.
    #[error(transparent)]
    Database(#[from] PgError),
    /// Writing an output table failed.
    #[error("cannot write {target}: {reason}")]
    Write {
        /// The file being written.
        target: String,
        /// The writer's message.
        reason: String,
    },
}

/// Which columns a caller wants, by normalised name; the others are named, never decoded.
pub type Wanted<'a> = &'a dyn Fn(&str) -> bool;

/// Every column.
pub fn all_columns(_: &str) -> bool {
    true
}

/// A table whose wanted columns are all text, in file order. Empty cells read as `None`.
/// Header names are normalised: trimmed, lower-cased, a byte-order mark dropped.
///
/// Records the reader could not take as a row (a CSV record with more or fewer fields than
/// the header) are not in the table but in [`StringTable::dropped`], so the caller can reject
/// them by number; cells of rows that held invalid UTF-8 read with replacement characters,
/// and [`StringTable::invalid_utf8`] says which rows those are.
pub struct StringTable {
    source_name: String,
    header: Vec<String>,
    names: Vec<String>,
    columns: Vec<StringChunked>,
    height: usize,
    /// 0-based record number in the file of each row, when some records were not rows.
    source_rows: Option<Vec<usize>>,
    dropped: Vec<DroppedRow>,
    invalid_utf8: HashSet<usize>,
    ignored: Vec<String>,
    notes: Vec<String>,
    decimal_comma: bool,
}

/// A record the reader could not take as a row.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedRow {
    /// 0-based record number after the header.
    pub row: usize,
    /// Why.
    pub reason: String,
    /// Its fields, as split.
    pub fields: Vec<String>,
}

/// The lowest normalised form of a header name.
fn normalise(name: &str) -> String {
    name.trim_start_matches('\u{feff}').trim().to_lowercase()
}

/// Fails on two header names that normalise alike (empty names are no names: a missing
/// header says so by the columns it lacks).
fn check_distinct(names: &[String], source_name: &str) -> Result<(), TableError> {
    for (i, a) in names.iter().enumerate().filter(|(_, a)| !normalise(a).is_empty()) {
        if let Some(b) = names[..i].iter().find(|b| normalise(b) == normalise(a)) {
            let spellings = if a == b {
                format!("column '{a}' appears more than once")
            } else {
                format!("columns '{b}' and '{a}' are one name ('{}') written twice", normalise(a))
            };
            return Err(TableError::DuplicateColumn { source_name: source_name.to_string(), spellings });
        }
    }
    Ok(())
}

impl StringTable {
    /// Reads every column of a source.
    pub fn read(source: &TableSource) -> Result<Self, TableError> {
        Ok(Self::read_hashed(source, &all_columns)?.0)
    }

    /// Reads the wanted columns of a source and the sha256 of its bytes (hex), reading the
    /// file once.
    pub fn read_hashed(source: &TableSource, wanted: Wanted) -> Result<(Self, String), TableError> {
        use sha2::{Digest, Sha256};
        let format = source.format()?;
        let bytes = source.read_bytes()?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let name = source.display_name();
        if bytes.is_empty() {
            return Err(TableError::Empty { source_name: name });
        }
        let table = match format {
            TableFormat::Csv => csv::parse(bytes, name, wanted)?,
            TableFormat::Parquet => parquet(bytes, name, wanted)?,
        };
        Ok((table, sha256))
    }

    /// Builds the table from a frame of the wanted columns (`names` are all the file's
    /// columns, as written).
    fn from_frame(frame: DataFrame, names: Vec<String>, source_name: String, wanted: Wanted, format: TableFormat) -> Result<Self, TableError> {
        let mut table = StringTable {
            source_name,
            header: names.iter().map(|n| normalise(n)).collect(),
            names: Vec::new(),
            columns: Vec::new(),
            height: frame.height(),
            source_rows: None,
            dropped: Vec::new(),
            invalid_utf8: HashSet::new(),
            ignored: names.iter().map(|n| normalise(n)).filter(|n| !wanted(n)).collect(),
            notes: Vec::new(),
            decimal_comma: false,
        };
        // Each column as text in one chunk, on the pool: one after the other, a 1M-row file's
        // columns took 1.5 s with a core idle.
        let chosen: Vec<&Column> = frame.columns().iter().filter(|c| wanted(&normalise(c.name()))).collect();
        let as_texts: Vec<Result<Option<StringChunked>, TableError>> = chosen
            .par_iter()
            .map(|column| Ok(text_column(column, &table.source_name, format)?.map(|text| text.str().expect("column was cast to String").rechunk().into_owned())))
            .collect();
        for (column, as_text) in chosen.into_iter().zip(as_texts) {
            let Some(as_text) = as_text? else {
                return Err(TableError::ColumnType {
                    source_name: table.source_name,
                    column: column.name().to_string(),
                    dtype: column.dtype().to_string(),
                });
            };
            if as_text.len() != table.height {
                // Only a damaged file decodes to columns of different lengths.
                return Err(TableError::Malformed {
                    source_name: table.source_name,
                    format: format.name(),
                    reason: format!("column '{}' decodes to {} values for {} rows; the file is damaged", column.name(), as_text.len(), table.height),
                });
            }
            table.columns.push(as_text);
            table.names.push(normalise(column.name()));
        }
        Ok(table)
    }

    /// 0-based record number in the file of table row `row` (they differ only when records
    /// were dropped).
    pub fn source_row(&self, row: usize) -> usize {
        self.source_rows.as_ref().map_or(row, |rows| rows[row])
    }

    /// Records the reader could not take.
    pub fn dropped(&self) -> &[DroppedRow] {
        &self.dropped
    }

    /// Whether row `row` held invalid UTF-8 (replaced by U+FFFD in its cells).
    pub fn invalid_utf8(&self, row: usize) -> bool {
        self.invalid_utf8.contains(&self.source_row(row))
    }

    /// Every column of the file, read or not, in file order, normalised (the order of a
    /// dropped row's fields).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Columns present in the file but not read (not wanted), by normalised name.
    pub fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// How the file was read, where it was not plain comma-separated UTF-8 with LF or CRLF
    /// line endings (a sniffed separator, CR line endings).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether numbers may use a decimal comma (a `;`-separated file, as the spreadsheets of
    /// French, Spanish and Portuguese write them).
    pub fn decimal_comma(&self) -> bool {
        self.decimal_comma
    }

    /// The name of the source, for messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Number of data rows (the header is not a row).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Names of the columns read, in file order, normalised.
    pub fn column_names(&self) -> &[String] {
        &self.names
    }

    /// Position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Every row as column name → trimmed cell (empty for a missing value).
    pub fn records(&self) -> Vec<std::collections::BTreeMap<&str, &str>> {
        (0..self.height)
            .map(|row| self.names.iter().enumerate().map(|(c, name)| (name.as_str(), self.cell(c, row).unwrap_or_default())).collect())
            .collect()
    }

    /// The trimmed cell at `column`, `row`; `None` when empty.
    pub fn cell(&self, column: usize, row: usize) -> Option<&str> {
        self.columns[column].get(row).map(str::trim).filter(|s| !s.is_empty())
    }
}

/// A wanted column as text: strings as they are, nulls as null strings, the types with a text
/// form cast to it; `None` for a type without one (lists, structs, binary).
fn text_column(column: &Column, source_name: &str, format: TableFormat) -> Result<Option<Column>, TableError> {
    let dtype = column.dtype();
    let cannot = |why: String| TableError::Malformed { source_name: source_name.to_string(), format: format.name(), reason: format!("column '{}' of type {dtype} cannot be read as text: {why}", column.name()) };
    Ok(Some(match dtype {
        DataType::String => column.clone(),
        DataType::Null => Column::full_null(column.name().clone(), column.len(), &DataType::String),
        d if d.is_primitive() || d.is_bool() || d.is_temporal() || d.is_categorical() || d.is_enum() || d.is_decimal() => {
            // Guarded: polars panics casting some values it reads without complaint (a
            // datetime beyond the calendar's range, a decimal whose precision is out of range).
            guarded(source_name, format, || Ok(column.cast(&DataType::String)))
                .map_err(|_| cannot("a value is out of the type's range, or damaged".to_string()))?
                .map_err(|e| cannot(e.to_string()))?
        }
        _ => return Ok(None),
    }))
}

/// Guarded reads running now, on any thread.
static GUARDED_READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is inside a guarded read.
    static IN_GUARDED_READ: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs, once, a panic hook that keeps the table library's panics off the terminal: those
/// of a thread inside [`guarded`], and those of the library's own worker threads (named
/// `polars-N`) while a guarded read runs. Every other panic reaches the hook installed before.
fn silence_table_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current().name().is_some_and(|n| n.starts_with("polars-"));
            let silenced = IN_GUARDED_READ.with(std::cell::Cell::get) || (worker && GUARDED_READS.load(std::sync::atomic::Ordering::SeqCst) > 0);
            if !silenced {
                previous(info);
            }
        }));
    });
}

/// Runs the table library on one file, turning a panic inside it (a damaged file) into an
/// error, with the panic's own message kept off the terminal. Reads on several threads run
/// side by side.
fn guarded<T>(name: &str, format: TableFormat, read: impl FnOnce() -> PolarsResult<T>) -> Result<T, TableError> {
    silence_table_panics();
    GUARDED_READS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let outer = IN_GUARDED_READ.with(|flag| flag.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    IN_GUARDED_READ.with(|flag| flag.set(outer));
    GUARDED_READS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    let malformed = |reason: String| TableError::Malformed { source_name: name.to_string(), format: format.name(), reason };
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(malformed(format!("the {} reader says: {e}", format.name()))),
        Err(_) => Err(malformed(format!("the {} reader failed on its content", format.name()))),
    }
}

/// The bytes a table may decode to: half the memory this process may use (available memory,
/// its address-space limit, its control group's limit, whichever is least).
fn decode_limit() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let available = meminfo
        .as_deref()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemAvailable:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(u64::MAX, |kb| kb * 1024);
    let address_space = rustix::process::getrlimit(rustix::process::Resource::As).current.unwrap_or(u64::MAX);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|m| m.trim().parse::<u64>().ok()).unwrap_or(u64::MAX);
    available.min(address_space).min(cgroup) / 2
}

/// Fails when a table would take more than [`decode_limit`] bytes once decoded.
fn check_decoded_size(decoded: u64, name: &str) -> Result<(), TableError> {
    let limit = decode_limit();
    if decoded > limit {
        return Err(TableError::TooLarge { source_name: name.to_string(), decoded_mb: decoded >> 20, limit_mb: limit >> 20 });
    }
    Ok(())
}

/// Walks the Parquet footer (Thrift compact protocol) without decoding it and fails on a
/// list, set or map that counts more entries than bytes remain (each entry takes one at
/// least), or on nesting deeper than any Parquet footer: polars sizes a list's vector from
/// its count before reading it, and a damaged count made it abort on a 2^31-entry
/// allocation (found by the profiles_parquet fuzz target).
fn check_footer(bytes: &[u8]) -> Result<(), String> {
    struct Walk<'a>(&'a [u8]);
    impl Walk<'_> {
        fn byte(&mut self) -> Result<u8, String> {
            let (&first, rest) = self.0.split_first().ok_or("the footer ends inside a value")?;
            self.0 = rest;
            Ok(first)
        }
        fn varint(&mut self) -> Result<u64, String> {
            let mut value = 0u64;
            for shift in (0..64).step_by(7) {
                let byte = self.byte()?;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err("a number in the footer runs past 64 bits".into())
        }
        fn skip(&mut self, n: u64) -> Result<(), String> {
            let n = usize::try_from(n).ok().filter(|&n| n <= self.0.len()).ok_or("a value runs past the footer")?;
            self.0 = &self.0[n..];
            Ok(())
        }
        fn entries(&self, count: u64) -> Result<u64, String> {
            if count > self.0.len() as u64 {
                return Err(format!("a list of {count} entries in the {} bytes left of the footer", self.0.len()));
            }
            Ok(count)
        }
        /// An entry of a list, set or map: a boolean takes a byte there (a field's is in
        /// its header).
        fn element(&mut self, kind: u8, depth: u32) -> Result<(), String> {
            match kind {
                1 | 2 => self.skip(1),
                kind => self.value(kind, depth),
            }
        }
        fn value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
            if depth > 32 {
                return Err("values nested deeper than a Parquet footer's".into());
            }
            match kind {
                1 | 2 => Ok(()),
                3 => self.skip(1),
                4..=6 => self.varint().map(drop),
                7 => self.skip(8),
                8 => {
                    let length = self.varint()?;
                    self.skip(length)
                }
                9 | 10 => {
                    let header = self.byte()?;
                    let count = match header >> 4 {
                        15 => self.varint()?,
                        n => u64::from(n),
                    };
                    for _ in 0..self.entries(count)? {
                        self.element(header & 0x0f, depth + 1)?;
                    }
                    Ok(())
                }
                11 => {
                    let count = self.varint()?;
                    if count > 0 {
                        let types = self.byte()?;
                        for _ in 0..self.entries(count)? {
                            self.element(types >> 4, depth + 1)?;
                            self.element(types & 0x0f, depth + 1)?;
                        }
                    }
                    Ok(())
                }
                12 => loop {
                    let header = self.byte()?;
                    if header == 0 {
                        return Ok(());
                    }
                    if header >> 4 == 0 {
                        self.varint()?;
                    }
                    self.value(header & 0x0f, depth + 1)?;
                },
                other => Err(format!("a value of unknown type {other} in the footer")),
            }
        }
    }
    let Some(length) = bytes.len().checked_sub(8).map(|at| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))) else { return Ok(()) };
    let Some(start) = (bytes.len() - 8).checked_sub(length as usize) else { return Ok(()) };
    Walk(&bytes[start..bytes.len() - 8]).value(12, 0)
}

/// Reads the wanted columns of a Parquet file, bounded in what they decode to.
fn parquet(bytes: Vec<u8>, name: String, wanted: Wanted) -> Result<StringTable, TableError> {
    check_footer(&bytes).map_err(|reason| TableError::Malformed { source_name: name.clone(), format: TableFormat::Parquet.name(), reason: format!("{reason}; the file is damaged") })?;
    let bytes = polars_buffer::Buffer::from(bytes);
    let reader = || ParquetReader::new(Cursor::new(bytes.as_slice()));
    let (schema, rows) = guarded(&name, TableFormat::Parquet, || {
        let mut reader = reader();
        Ok((reader.schema()?, reader.num_rows()?))
    })?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    check_distinct(&names, &name)?;
    let chosen: Vec<String> = names.iter().filter(|n| wanted(&normalise(n))).cloned().collect();
    guarded(&name, TableFormat::Parquet, || check_page_headers(&bytes, &chosen))?;
    // What the wanted columns decode to, from the text of a sample of rows (the file's own
    // sizes say nothing of a dictionary-encoded column's values).
    const SAMPLE: usize = 1024;
    let sample = guarded(&name, TableFormat::Parquet, || reader().with_columns(Some(chosen.clone())).with_slice(Some((0, SAMPLE))).finish())?;
    let mut text = 0u64;
    for column in sample.columns() {
        if let Some(column) = text_column(column, &name, TableFormat::Parquet)? {
            let values = column.str().expect("column was cast to String");
            text += (0..values.len()).map(|i| values.get(i).map_or(0, str::len) as u64).sum::<u64>();
        }
    }
    let per_row = text / sample.height().max(1) as u64;
    // The values are held twice (the table, the profiles), with about 1 KB a row besides
    // (the profile, its features, its candidate columns).
    check_decoded_size((rows as u64).saturating_mul(2 * per_row + 1024), &name)?;
    let frame = guarded(&name, TableFormat::Parquet, || reader().with_columns(Some(chosen)).finish())?;
    StringTable::from_frame(frame, names, name, wanted, TableFormat::Parquet)
}

/// Reads the page headers of the `chosen` columns (not their values) and fails on one whose
/// counts are negative or beyond its row group (a flat column holds a value per row at most): polars would take such a count for a size
/// and abort the process trying to allocate it.
fn check_page_headers(bytes: &polars_buffer::Buffer<u8>, chosen: &[String]) -> PolarsResult<()> {
    use polars_parquet::parquet::page::{CompressedPage, DataPageHeader};
    use polars_parquet::parquet::read::{get_page_iterator, read_metadata};
    let corrupt = |what: String| PolarsError::ComputeError(what.into());
    let metadata = read_metadata(&mut Cursor::new(bytes.as_slice())).map_err(|e| corrupt(e.to_string()))?;
    for (group, row_group) in metadata.row_groups.iter().enumerate() {
        let rows = row_group.num_rows() as i64;
        let columns = row_group.parquet_columns().iter().filter(|c| chosen.iter().any(|n| c.descriptor().path_in_schema.first().is_some_and(|p| p.as_str() == n)));
        for column in columns {
            let column_name = column.descriptor().path_in_schema.join(".");
            // A repeated (list) column may hold more values than rows.
            let most = if column.descriptor().descriptor.max_rep_level == 0 { rows } else { i64::from(i32::MAX) };
            let pages = get_page_iterator(column, Cursor::new(bytes.clone()), Vec::new(), bytes.len()).map_err(|e| corrupt(e.to_string()))?;
            for page in pages {
                let CompressedPage::Data(page) = page.map_err(|e| corrupt(e.to_string()))? else { continue };
                let counts = match page.header() {
                    DataPageHeader::V1(h) => vec![h.num_values as i64],
                    DataPageHeader::V2(h) => vec![h.num_values as i64, h.num_nulls as i64, h.num_rows as i64],
                };
                if counts.iter().any(|&n| n < 0 || n > most) {
                    return Err(corrupt(format!("column {column_name}, row group {group}: a page header counts {counts:?} values in a group of {rows} rows; the file is damaged")));
                }
            }
        }
    }
    Ok(())
}

/// Whether a spreadsheet would take `text` for a formula, or `text` is such a value already
/// escaped once (so that escaping can always be undone).
fn needs_escape(text: &str) -> bool {
    let formula = |t: &str| t.starts_with(['=', '+', '-', '@', '\t', '\r']);
    formula(text) || text.strip_prefix('\'').is_some_and(formula)
}

/// A text value made safe to open in a spreadsheet: one that starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return (or with `'` and then one of those) gets a leading `'`, so no
/// spreadsheet evaluates it as a formula. Every CSV a person may open is written so
/// ([`write_frame`], the shortlist's writer); the Parquet files hold the values as they are.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if needs_escape(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The value [`spreadsheet_safe`] was given.
pub fn spreadsheet_value(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if needs_escape(rest) => rest,
        _ => text,
    }
}

/// `frame` with every text value made [`spreadsheet_safe`] (the frame itself when none needs
/// it, the common case: one pass over the first bytes).
pub fn spreadsheet_safe_frame(frame: &DataFrame) -> std::borrow::Cow<'_, DataFrame> {
    let needs = |c: &Column| c.str().is_ok_and(|s| s.downcast_iter().any(|array| array.values_iter().any(needs_escape)));
    if !frame.columns().iter().any(needs) {
        return std::borrow::Cow::Borrowed(frame);
    }
    let columns = frame
        .columns()
        .iter()
        .map(|c| match c.str() {
            Ok(s) if needs(c) => {
                let escaped: Vec<Option<String>> = s.downcast_iter().flat_map(|array| array.iter()).map(|v| v.map(|v| spreadsheet_safe(v).into_owned())).collect();
                Column::new(c.name().clone(), escaped)
            }
            _ => c.clone(),
        })
        .collect();
    std::borrow::Cow::Owned(DataFrame::new(frame.height(), columns).expect("the same columns, escaped"))
}

/// Writes a frame in the given format to `sink` (CSV [`spreadsheet_safe`]); `target` names it
/// in errors.
pub fn write_frame<W: Write>(frame: &mut DataFrame, format: TableFormat, sink: W, target: &str) -> Result<(), TableError> {
    let result = match format {
        TableFormat::Csv => CsvWriter::new(sink).include_header(true).finish(&mut spreadsheet_safe_frame(frame).into_owned()),
        TableFormat::Parquet => ParquetWriter::new(sink).with_compression(ParquetCompression::Zstd(None)).finish(frame).map(|_| ()),
    };
    result.map_err(|e| TableError::Write {
        target: target.to_string(),
        reason: e.to_string(),
    })
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CSV: recognising the bytes, splitting records, reading the clean rows with polars.
mod csv {
    use super::*;

    /// One record of the file: its byte range (line ending excluded) and how many fields it
    /// has (their ranges are found again, by [`split`], for the few records that need them).
    struct Record {
        start: usize,
        end: usize,
        fields: usize,
        /// A quote opens in it and never closes: the record is its line, to be rejected.
        open_quote: bool,
    }

    /// Says what the bytes are when they are recognisably not a CSV text.
    fn recognise(bytes: &[u8], name: &str) -> Result<(), TableError> {
        let not = |what: &str| Err(TableError::NotThisFormat { source_name: name.to_string(), what: what.to_string() });
        if bytes.starts_with(b"PK\x03\x04") {
            return not("this is an Excel workbook (.xlsx) or another zip archive, not CSV; open it in the spreadsheet and save it as \"CSV UTF-8 (comma delimited)\"");
        }
        let head = &bytes[..bytes.len().min(4096)];
        let nuls = head.iter().filter(|&&b| b == 0).count();
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) || nuls * 4 >= head.len() {
            return not("this is UTF-16 text (every other byte is zero), not UTF-8; save it as \"CSV UTF-8\"");
        }
        if nuls > 0 {
            return not("this holds binary data (zero bytes), not CSV text; give the CSV export of the table");
        }
        Ok(())
    }

    /// The ranges of invalid UTF-8 in `bytes`; an error when the text looks like Latin-1
    /// rather than UTF-8 with a few bad bytes (invalid bytes, and no valid non-ASCII letter).
    fn invalid_utf8(bytes: &[u8], name: &str) -> Result<Vec<usize>, TableError> {
        let (mut invalid, mut valid_non_ascii, mut at) = (Vec::new(), 0usize, 0usize);
        for chunk in bytes.utf8_chunks() {
            valid_non_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
            at += chunk.valid().len();
            if !chunk.invalid().is_empty() {
                invalid.push(at);
                at += chunk.invalid().len();
            }
        }
        if !invalid.is_empty() && valid_non_ascii == 0 {
            return Err(TableError::NotThisFormat {
                source_name: name.to_string(),
                what: format!("this is not UTF-8 text ({} byte(s) are not UTF-8 and none is a valid UTF-8 letter): it looks like Latin-1 or Windows-1252; save it as \"CSV UTF-8\"", invalid.len()),
            });
        }
        Ok(invalid)
    }

    /// The separator: `,` unless the header has none and has `;` or tabs.
    fn sniff_separator(bytes: &[u8]) -> u8 {
        let header = &bytes[..bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len())];
        let count = |c: u8| header.iter().filter(|&&b| b == c).count();
        if count(b',') > 0 {
            b','
        } else if count(b';') > 0 {
            b';'
        } else if count(b'\t') > 0 {
            b'\t'
        } else {
            b','
        }
    }

    /// Scans CSV bytes field by field (RFC 4180: a quote opens a field only at its start;
    /// `""` inside a quoted field is a quote), calling `field(start, end, last_of_record)` for
    /// each field, `end` excluding the separator or line ending. Returns the byte where the
    /// record in which a quote opens and never closes starts, if one does.
    fn scan(bytes: &[u8], separator: u8, mut field: impl FnMut(usize, usize, bool)) -> Option<usize> {
        let (mut field_start, mut record_start, mut opened_in) = (0usize, 0usize, 0usize);
        let (mut quoted, mut at_field_start) = (false, true);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if quoted {
                if b == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 1;
                    } else {
                        quoted = false;
                    }
                }
                at_field_start = false;
            } else if b == b'"' && at_field_start {
                quoted = true;
                opened_in = record_start;
                at_field_start = false;
            } else if b == separator {
                field(field_start, i, false);
                field_start = i + 1;
                at_field_start = true;
            } else if b == b'\n' {
                let end = if i > field_start && bytes[i - 1] == b'\r' { i - 1 } else { i };
                field(field_start, end, true);
                field_start = i + 1;
                record_start = i + 1;
                at_field_start = true;
            } else {
                at_field_start = false;
            }
            i += 1;
        }
        if quoted {
            return Some(opened_in);
        }
        if field_start < bytes.len() {
            let end = if bytes.ends_with(b"\r") { bytes.len() - 1 } else { bytes.len() };
            field(field_start, end, true);
        }
        None
    }

    /// The records of `bytes`. A record in which a quote opens and never closes would take the
    /// rest of the file as one value: it is taken to end with its line (to be rejected) and the
    /// records after it are read as usual. Fails only when that record is the header.
    fn records(bytes: &[u8], separator: u8, name: &str) -> Result<Vec<Record>, TableError> {
        let mut records = Vec::new();
        let mut from = 0;
        while from < bytes.len() {
            let rest = &bytes[from..];
            let (mut start, mut fields) = (from, 0usize);
            let open = scan(rest, separator, |_, end, last| {
                fields += 1;
                if last {
                    let end = from + end;
                    records.push(Record { start, end, fields, open_quote: false });
                    // The next record starts after this one's line ending.
                    start = bytes[end..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| end + p + 1);
                    fields = 0;
                }
            });
            let Some(at) = open else { break };
            if records.is_empty() {
                return Err(TableError::OpenQuote { source_name: name.to_string() });
            }
            let start = from + at;
            let line_end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
            let end = if line_end > start && bytes[line_end - 1] == b'\r' { line_end - 1 } else { line_end };
            records.push(Record { start, end, fields: 0, open_quote: true });
            from = line_end + 1;
        }
        Ok(records)
    }

    /// The fields of one record, as text (trimmed, or as written for the header's names).
    fn split(bytes: &[u8], record: &Record, separator: u8, trim: bool) -> Vec<String> {
        let line = &bytes[record.start..record.end];
        let mut fields = Vec::with_capacity(record.fields);
        scan(line, separator, |start, end, _| fields.push(field_text(line, (start, end), trim)));
        fields
    }

    /// A field's text: quotes removed, `""` made `"`, invalid UTF-8 replaced, and spaces
    /// around it trimmed when `trim`.
    fn field_text(bytes: &[u8], (start, end): (usize, usize), trim: bool) -> String {
        let raw = String::from_utf8_lossy(&bytes[start..end]);
        let text = if trim { raw.trim() } else { &raw };
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => text.to_string(),
        }
    }

    /// Reads a CSV file's bytes.
    pub(super) fn parse(mut bytes: Vec<u8>, name: String, wanted: Wanted) -> Result<StringTable, TableError> {
        recognise(&bytes, &name)?;
        // The text, its clean copy and the table's columns hold it about three times over.
        check_decoded_size((bytes.len() as u64).saturating_mul(3), &name)?;
        let mut notes = Vec::new();
        if bytes.contains(&b'\r') && !bytes.contains(&b'\n') {
            bytes.iter_mut().filter(|b| **b == b'\r').for_each(|b| *b = b'\n');
            notes.push("line endings: carriage returns only (classic Mac), read as line feeds".to_string());
        }
        let invalid = invalid_utf8(&bytes, &name)?;
        let separator = sniff_separator(&bytes);
        if separator != b',' {
            let what = if separator == b';' { "';' (and numbers with a decimal comma)" } else { "tabs" };
            notes.push(format!("separated by {what}, sniffed from the header"));
        }
        let records = records(&bytes, separator, &name)?;
        let Some(header) = records.first() else {
            return Err(TableError::Empty { source_name: name });
        };
        let names = split(&bytes, header, separator, false);
        check_distinct(&names, &name)?;
        // The rows polars reads: every record with the header's number of fields (an empty
        // line holds none); the others are dropped, by number.
        let (mut source_rows, mut dropped, mut invalid_rows) = (Vec::new(), Vec::new(), HashSet::new());
        let mut invalid_at = invalid.iter().peekable();
        for (index, record) in records.iter().enumerate().skip(1) {
            let row = index - 1;
            while invalid_at.next_if(|&&at| at < record.start).is_some() {}
            if invalid_at.peek().is_some_and(|&&at| at < record.end) {
                invalid_rows.insert(row);
            }
            if record.start == record.end {
                continue;
            }
            if record.open_quote {
                let reason = "a quote opens a field that never closes; the row is taken to end with its line: close the quote or remove the stray one".to_string();
                dropped.push(DroppedRow { row, reason, fields: split(&bytes, record, separator, true) });
                continue;
            }
            if record.fields != header.fields {
                let (fields, expected) = (record.fields, header.fields);
                let hint = if fields > expected { "a value holding the separator is probably not quoted" } else { "a line break inside an unquoted value probably cut the row" };
                dropped.push(DroppedRow { row, reason: format!("the row has {fields} fields but the header has {expected}; {hint}"), fields: split(&bytes, record, separator, true) });
                continue;
            }
            source_rows.push(index);
        }
        // Polars reads the file as it is when every record is a row; else the rows alone, with
        // invalid UTF-8 replaced. Should it split them otherwise than the scan above (a byte it
        // takes differently), it reads them again written plainly: every field quoted.
        let rows = |encode: &dyn Fn(&Record, &mut Vec<u8>)| {
            let mut kept = Vec::with_capacity(bytes.len());
            for &index in std::iter::once(&0).chain(&source_rows) {
                encode(&records[index], &mut kept);
                kept.push(b'\n');
            }
            kept
        };
        let read = |text: &[u8]| {
            guarded(&name, TableFormat::Csv, || {
                CsvReadOptions::default()
                    .with_has_header(true)
                    .with_infer_schema_length(Some(0))
                    .with_raise_if_empty(true)
                    .with_parse_options(CsvParseOptions::default().with_separator(separator))
                    .into_reader_with_file_handle(Cursor::new(text))
                    .finish()
            })
        };
        let as_written = |record: &Record, kept: &mut Vec<u8>| kept.extend_from_slice(String::from_utf8_lossy(&bytes[record.start..record.end]).as_bytes());
        let whole = source_rows.len() + 1 == records.len() && invalid.is_empty();
        let mut frame = if whole { read(&bytes)? } else { read(&rows(&as_written))? };
        if frame.height() != source_rows.len() {
            let quoted = |record: &Record, kept: &mut Vec<u8>| {
                let fields: Vec<String> = split(&bytes, record, separator, false).iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
                kept.extend_from_slice(fields.join(&(separator as char).to_string()).as_bytes());
            };
            frame = read(&rows(&quoted))?;
            if frame.height() != source_rows.len() {
                return Err(TableError::Malformed { source_name: name, format: "CSV", reason: format!("{} rows were found where {} were expected", frame.height(), source_rows.len()) });
            }
        }
        let identity = source_rows.iter().enumerate().all(|(row, &index)| index == row + 1);
        let source_rows: Vec<usize> = source_rows.into_iter().map(|index| index - 1).collect();
        let mut table = StringTable::from_frame(frame, names, name, wanted, TableFormat::Csv)?;
        table.source_rows = (!identity).then_some(source_rows);
        table.dropped = dropped;
        table.invalid_utf8 = invalid_rows;
        table.notes = notes;
        table.decimal_comma = separator == b';';
        Ok(table)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn formulas_are_neutralised_both_ways_and_text_kept() {
            for (input, output) in [
                ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
                ("+1 555", "'+1 555"),
                ("-2+3", "'-2+3"),
                ("@SUM(A1)", "'@SUM(A1)"),
                ("\tTAB", "'\tTAB"),
                ("'=already", "''=already"),
                ("City of Dakar", "City of Dakar"),
                ("a=b", "a=b"),
                ("'quoted'", "'quoted'"),
            ] {
                assert_eq!(spreadsheet_safe(input), output);
                assert_eq!(spreadsheet_value(output), input, "undone");
            }
        }

        #[test]
        fn records_respect_quotes_and_name_an_open_one() {
            let csv = b"a,b\n1,2\n\"x,y\",3\n4,5,6\n\"multi\nline\",7\r\n\"say \"\"hi\"\"\",8";
            let records = records(csv, b',', "t.csv").unwrap();
            let fields: Vec<usize> = records.iter().map(|r| r.fields).collect();
            assert_eq!(fields, vec![2, 2, 2, 3, 2, 2]);
            assert_eq!(split(csv, &records[2], b',', true), vec!["x,y", "3"]);
            assert_eq!(split(csv, &records[4], b',', true), vec!["multi\nline", "7"]);
            assert_eq!(split(csv, &records[5], b',', true), vec!["say \"hi\"", "8"]);
            // An open quote ends with its line; the records after it are read as usual.
            let open = super::records(b"a,b\n1,2\n\"open,3\n4,5\n", b',', "t.csv").unwrap();
            let kinds: Vec<(usize, bool)> = open.iter().map(|r| (r.fields, r.open_quote)).collect();
            assert_eq!(kinds, vec![(2, false), (2, false), (0, true), (2, false)]);
            assert_eq!(split(b"a,b\n1,2\n\"open,3\n4,5\n", &open[3], b',', true), vec!["4", "5"]);
            match super::records(b"\"a,b\n1,2\n", b',', "t.csv") {
                Err(TableError::OpenQuote { .. }) => {}
                other => panic!("an open quote in the header is an error, got {:?}", other.err()),
            }
            // A quote inside an unquoted value is a character, not a quote.
            assert_eq!(super::records(b"a,b\nthe \"best\" coop,2\n", b',', "t.csv").unwrap()[1].fields, 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A footer of `metadata` as a Parquet file ends: the bytes, their length, `PAR1`.
    fn file_ending(metadata: &[u8]) -> Vec<u8> {
        let mut bytes = b"PAR1".to_vec();
        bytes.extend_from_slice(metadata);
        bytes.extend_from_slice(&(metadata.len() as u32).to_le_bytes());
        bytes.extend_from_slice(b"PAR1");
        bytes
    }

    #[test]
    fn a_footer_list_counting_more_entries_than_bytes_is_refused() {
        // Field 1 a list of structs counting 2^31 - 1 entries, then the struct's stop.
        let damaged = file_ending(&[0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0x00]);
        assert_eq!(check_footer(&damaged).unwrap_err(), "a list of 2147483647 entries in the 1 bytes left of the footer");
        // The same list holding its one struct (field 1: i32 5) is read to the end, and so
        // is a list of two booleans (a byte each) then an i32 field.
        assert_eq!(check_footer(&file_ending(&[0x19, 0x1c, 0x15, 0x0a, 0x00, 0x00])), Ok(()));
        assert_eq!(check_footer(&file_ending(&[0x19, 0x21, 0x01, 0x02, 0x15, 0x0a, 0x00])), Ok(()));
        assert!(check_footer(&file_ending(&[0x19, 0x21, 0x01, 0x00])).is_err(), "a boolean list cut short");
        // A footer nested deeper than any Parquet footer is refused, not a stack overflow.
        let deep: Vec<u8> = std::iter::repeat_n(0x1c, 10_000).collect();
        assert_eq!(check_footer(&file_ending(&deep)).unwrap_err(), "values nested deeper than a Parquet footer's");
    }
}
