//! Tables in and out, through polars.
//!
//! Input: a CSV or Parquet source (a file, or bytes embedded in the binary). Output: a
//! [`StringTable`], every column read as text so that validation, not the reader, decides what
//! a bad value is. The other direction: [`write_frame`] writes a polars `DataFrame` as CSV or
//! Parquet, chosen by [`TableFormat`].

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// Where a table comes from: a file on disk or bytes shipped inside the binary.
#[derive(Clone, Debug)]
pub enum TableSource {
    /// A file; its format is taken from its extension.
    File(PathBuf),
    /// Bytes embedded in the binary, with the name shown in messages.
    Embedded {
        /// Display name, e.g. `data/profiles/default.csv (built in)`.
        name: String,
        /// The file's bytes.
        bytes: &'static [u8],
        /// The format of the bytes.
        format: TableFormat,
    },
}

impl TableSource {
    /// The name to show in messages and rejects: the path or the embedded name.
    pub fn display_name(&self) -> String {
        match self {
            TableSource::File(path) => path.display().to_string(),
            TableSource::Embedded { name, .. } => name.clone(),
        }
    }

    /// The format: a file's extension, or the embedded bytes' declared format.
    pub fn format(&self) -> Result<TableFormat, TableError> {
        match self {
            TableSource::File(path) => TableFormat::from_path(path),
            TableSource::Embedded { format, .. } => Ok(*format),
        }
    }

    /// The raw bytes of the source.
    pub fn read_bytes(&self) -> Result<Vec<u8>, TableError> {
        match self {
            TableSource::File(path) => {
                std::fs::read(path).map_err(|e| TableError::Unreadable {
                    source_name: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
            TableSource::Embedded { bytes, .. } => Ok(bytes.to_vec()),
        }
    }
}

/// The two table formats the engine reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// UTF-8 CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// The format named by a path's extension (`.csv`, `.parquet` or `.pq`).
    pub fn from_path(path: &Path) -> Result<Self, TableError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet") | Some("pq") => Ok(TableFormat::Parquet),
            _ => Err(TableError::UnknownFormat {
                source_name: path.display().to_string(),
            }),
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
        /// The operating system's or the parser's message.
        reason: String,
    },
    /// The content is not a valid table of the announced format.
    #[error("{source_name}: not a valid {format} table: {reason}")]
    Malformed {
        /// The file.
        source_name: String,
        /// "CSV" or "Parquet".
        format: &'static str,
        /// The parser's message.
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
    /// Two columns of the header have the same name.
    #[error("{source_name}: column '{column}' appears more than once in the header; keep one")]
    DuplicateColumn {
        /// The file.
        source_name: String,
        /// The repeated name.
        column: String,
    },
    /// Writing an output table failed.
    #[error("cannot write {target}: {reason}")]
    Write {
        /// The file being written.
        target: String,
        /// The writer's message.
        reason: String,
    },
}

/// A table whose columns are all text, in file order. Empty cells read as `None`. Header
/// names are trimmed and lower-cased.
///
/// Rows the reader could not take at all (a CSV record with more fields than the header) are
/// not in the table but in [`StringTable::dropped`], so the caller can reject them by number;
/// rows that were not valid UTF-8 are read with replacement characters and flagged by
/// [`StringTable::invalid_utf8`].
pub struct StringTable {
    source_name: String,
    names: Vec<String>,
    columns: Vec<StringChunked>,
    height: usize,
    /// 0-based record number in the file of each row, when some records were dropped.
    source_rows: Option<Vec<usize>>,
    dropped: Vec<DroppedRow>,
    invalid_utf8: bool,
}

/// A record the reader could not take.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedRow {
    /// 0-based record number after the header.
    pub row: usize,
    /// Why.
    pub reason: String,
}

impl StringTable {
    /// Reads a whole source.
    pub fn read(source: &TableSource) -> Result<Self, TableError> {
        let format = source.format()?;
        Self::parse(source.read_bytes()?, format, source.display_name())
    }

    /// Reads a whole source and the sha256 of its bytes (hex), reading the file once.
    pub fn read_hashed(source: &TableSource) -> Result<(Self, String), TableError> {
        use sha2::{Digest, Sha256};
        let bytes = source.read_bytes()?;
        let sha256 = hex(&Sha256::digest(&bytes));
        Ok((Self::parse(bytes, source.format()?, source.display_name())?, sha256))
    }

    /// Parses bytes already read (so a caller that hashes them reads the file once).
    pub fn parse(bytes: Vec<u8>, format: TableFormat, source_name: String) -> Result<Self, TableError> {
        if bytes.is_empty() {
            return Err(TableError::Empty { source_name });
        }
        if format == TableFormat::Parquet {
            let frame = read_frame(Cursor::new(bytes), format, &source_name)?;
            return Self::from_frame(frame, source_name, None, Vec::new(), false);
        }
        // Invalid UTF-8 is replaced (U+FFFD) so the rest of the file can be read; the rows
        // that held it are rejected by validation.
        let (bytes, invalid_utf8) = match String::from_utf8(bytes) {
            Ok(text) => (text.into_bytes(), false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned().into_bytes(), true),
        };
        match read_frame(Cursor::new(&bytes), format, &source_name) {
            Ok(frame) => Self::from_frame(frame, source_name, None, Vec::new(), invalid_utf8),
            Err(TableError::Malformed { reason, .. }) if reason.contains("more fields than") => {
                let (kept, source_rows, dropped) = drop_long_records(&bytes);
                let frame = read_frame(Cursor::new(kept), format, &source_name)?;
                Self::from_frame(frame, source_name, Some(source_rows), dropped, invalid_utf8)
            }
            Err(e) => Err(e),
        }
    }

    fn from_frame(
        frame: DataFrame,
        source_name: String,
        source_rows: Option<Vec<usize>>,
        dropped: Vec<DroppedRow>,
        invalid_utf8: bool,
    ) -> Result<Self, TableError> {
        let height = frame.height();
        let mut names = Vec::with_capacity(frame.width());
        let mut columns = Vec::with_capacity(frame.width());
        for column in frame.columns() {
            let as_text = match column.dtype() {
                DataType::String => column.clone(),
                dtype if dtype.is_primitive() || dtype.is_bool() => column
                    .cast(&DataType::String)
                    .map_err(|e| TableError::Malformed {
                        source_name: source_name.clone(),
                        format: "Parquet",
                        reason: e.to_string(),
                    })?,
                dtype => {
                    return Err(TableError::ColumnType {
                        source_name,
                        column: column.name().to_string(),
                        dtype: dtype.to_string(),
                    })
                }
            };
            let text = as_text
                .str()
                .expect("column was cast to String")
                .rechunk()
                .into_owned();
            let name = column.name().trim().trim_start_matches('\u{feff}').to_lowercase();
            // polars renames a repeated header name to `<name>_duplicated_<n>`.
            if let Some((base, _)) = name.split_once("_duplicated_").filter(|(b, _)| !b.is_empty()) {
                return Err(TableError::DuplicateColumn {
                    source_name,
                    column: base.to_string(),
                });
            }
            names.push(name);
            columns.push(text);
        }
        Ok(StringTable {
            source_name,
            names,
            columns,
            height,
            source_rows,
            dropped,
            invalid_utf8,
        })
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

    /// Whether the file held invalid UTF-8 (replaced by U+FFFD in the cells).
    pub fn invalid_utf8(&self) -> bool {
        self.invalid_utf8
    }

    /// The name of the source, for messages.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Number of data rows (the header is not a row).
    pub fn height(&self) -> usize {
        self.height
    }

    /// Column names in file order, trimmed.
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
            .map(|row| {
                self.names
                    .iter()
                    .enumerate()
                    .map(|(c, name)| (name.as_str(), self.cell(c, row).unwrap_or_default()))
                    .collect()
            })
            .collect()
    }

    /// The trimmed cell at `column`, `row`; `None` when empty.
    pub fn cell(&self, column: usize, row: usize) -> Option<&str> {
        self.columns[column]
            .get(row)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Splits CSV bytes into the header and records (RFC 4180 quoting), keeps the records with
/// no more fields than the header, and reports the others. Returns the kept bytes, the
/// 0-based record number of each kept record, and the dropped ones.
fn drop_long_records(bytes: &[u8]) -> (Vec<u8>, Vec<usize>, Vec<DroppedRow>) {
    let mut records: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, fields)
    let (mut start, mut fields, mut quoted) = (0, 1, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => fields += 1,
            b'\n' if !quoted => {
                records.push((start, i + 1, fields));
                (start, fields) = (i + 1, 1);
            }
            _ => {}
        }
    }
    if start < bytes.len() {
        records.push((start, bytes.len(), fields));
    }
    let header_fields = records.first().map_or(0, |r| r.2);
    let mut kept = Vec::with_capacity(bytes.len());
    let (mut source_rows, mut dropped) = (Vec::new(), Vec::new());
    for (index, &(start, end, fields)) in records.iter().enumerate() {
        let record = &bytes[start..end];
        if index == 0 || fields <= header_fields {
            kept.extend_from_slice(record);
            if !record.ends_with(b"\n") {
                kept.push(b'\n');
            }
            if index > 0 {
                source_rows.push(index - 1);
            }
        } else {
            dropped.push(DroppedRow {
                row: index - 1,
                reason: format!(
                    "the row has {fields} fields but the header has {header_fields}; quote values that contain commas"
                ),
            });
        }
    }
    (kept, source_rows, dropped)
}

fn read_frame<T>(bytes: Cursor<T>, format: TableFormat, name: &str) -> Result<DataFrame, TableError>
where
    T: AsRef<[u8]> + Send + Sync,
{
    // A corrupt file must never take the job down: a panic inside the reader is an error.
    let read = std::panic::AssertUnwindSafe(|| read_frame_unguarded(bytes, format, name));
    std::panic::catch_unwind(read).unwrap_or_else(|_| {
        Err(TableError::Malformed {
            source_name: name.to_string(),
            format: match format {
                TableFormat::Csv => "CSV",
                TableFormat::Parquet => "Parquet",
            },
            reason: "the reader failed on this file; it may be damaged or truncated".into(),
        })
    })
}

fn read_frame_unguarded<T>(bytes: Cursor<T>, format: TableFormat, name: &str) -> Result<DataFrame, TableError>
where
    T: AsRef<[u8]> + Send + Sync,
{
    let result = match format {
        TableFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_raise_if_empty(true)
            .into_reader_with_file_handle(bytes)
            .finish(),
        TableFormat::Parquet => ParquetReader::new(bytes).finish(),
    };
    result.map_err(|e| TableError::Malformed {
        source_name: name.to_string(),
        format: match format {
            TableFormat::Csv => "CSV",
            TableFormat::Parquet => "Parquet",
        },
        reason: e.to_string(),
    })
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a frame in the given format to `sink`; `target` names it in errors.
pub fn write_frame<W: Write>(
    frame: &mut DataFrame,
    format: TableFormat,
    sink: W,
    target: &str,
) -> Result<(), TableError> {
    let result = match format {
        TableFormat::Csv => CsvWriter::new(sink).include_header(true).finish(frame),
        TableFormat::Parquet => ParquetWriter::new(sink)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(frame)
            .map(|_| ()),
    };
    result.map_err(|e| TableError::Write {
        target: target.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_records_are_dropped_by_number_and_quotes_respected() {
        let csv = b"a,b\n1,2\n\"x,y\",3\n4,5,6\n\"multi\nline\",7\n8,9,10,11";
        let (kept, rows, dropped) = drop_long_records(csv);
        assert_eq!(String::from_utf8(kept).unwrap(), "a,b\n1,2\n\"x,y\",3\n\"multi\nline\",7\n");
        assert_eq!(rows, vec![0, 1, 3]);
        assert_eq!(dropped.iter().map(|d| d.row).collect::<Vec<_>>(), vec![2, 4]);
        assert!(dropped[0].reason.contains("3 fields but the header has 2"));
    }
}
