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
    /// Writing an output table failed.
    #[error("cannot write {target}: {reason}")]
    Write {
        /// The file being written.
        target: String,
        /// The writer's message.
        reason: String,
    },
}

/// A table whose columns are all text, in file order. Empty cells read as `None`.
pub struct StringTable {
    source_name: String,
    names: Vec<String>,
    columns: Vec<StringChunked>,
    height: usize,
}

impl StringTable {
    /// Reads a whole source.
    pub fn read(source: &TableSource) -> Result<Self, TableError> {
        let format = source.format()?;
        Self::parse(source.read_bytes()?, format, source.display_name())
    }

    /// Parses bytes already read (so a caller that hashes them reads the file once).
    pub fn parse(bytes: Vec<u8>, format: TableFormat, source_name: String) -> Result<Self, TableError> {
        let frame = read_frame(Cursor::new(bytes), format, &source_name)?;
        Self::from_frame(frame, source_name)
    }

    fn from_frame(frame: DataFrame, source_name: String) -> Result<Self, TableError> {
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
            names.push(column.name().trim().to_string());
            columns.push(text);
        }
        Ok(StringTable {
            source_name,
            names,
            columns,
            height,
        })
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

    /// The trimmed cell at `column`, `row`; `None` when empty.
    pub fn cell(&self, column: usize, row: usize) -> Option<&str> {
        self.columns[column]
            .get(row)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

fn read_frame<T>(bytes: Cursor<T>, format: TableFormat, name: &str) -> Result<DataFrame, TableError>
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
