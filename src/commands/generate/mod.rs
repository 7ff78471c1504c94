//! Generate: profile tables in the input contract, for the shipped default set, demos and
//! benchmarks.
//!
//! Input: `--n`, `--seed`, and optionally the real country profiles. Output: a CSV or Parquet
//! file (by extension) in the profile contract, written atomically, in blocks so memory does
//! not grow with N. Rows come from [`seed_countries`] (real data, mapped by documented
//! keyword tables) and [`synthetic`] (seeded, marked `synthetic = true` and `[synthetic]` in
//! the name).

pub mod seed_countries;
pub mod synthetic;

use polars::prelude::*;

use crate::config::GenerateConfig;
use crate::error::Error;
use crate::io::atomic;
use crate::output::{write_error, OutputError};
use crate::engine::profile::VALUE_COUNT;
use crate::engine::reference::Reference;
use crate::io::table::TableFormat;

/// Profiles generated per block (each block has its own seeded random stream, so N rows are
/// a prefix of any larger N with the same seed).
pub const BLOCK: usize = 1000;

/// One profile as contract text and numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileRecord {
    /// `id`
    pub id: String,
    /// `name`
    pub name: String,
    /// `actor_type`
    pub actor_type: String,
    /// `entity_kind`
    pub entity_kind: String,
    /// `country_iso3`
    pub country_iso3: String,
    /// `city`
    pub city: Option<String>,
    /// `lat`
    pub lat: Option<f64>,
    /// `lon`
    pub lon: Option<f64>,
    /// `population`
    pub population: Option<u64>,
    /// `languages`, `;`-separated
    pub languages: Option<String>,
    /// `offers`, `;`-separated theme ids
    pub offers: String,
    /// `needs`, `;`-separated theme ids
    pub needs: String,
    /// `sectors`, `;`-separated
    pub sectors: String,
    /// `roles`, `;`-separated
    pub roles: String,
    /// `v_*` in values.csv order
    pub values: [Option<f64>; VALUE_COUNT],
    /// `capacity`
    pub capacity: Option<u32>,
    /// `horizon`
    pub horizon: Option<String>,
    /// `contact_name`
    pub contact_name: Option<String>,
    /// `contact_email`
    pub contact_email: Option<String>,
    /// `active`
    pub active: bool,
    /// `synthetic`
    pub synthetic: bool,
}

/// The contract columns of a batch of records.
pub fn frame(records: &[ProfileRecord], reference: &Reference) -> PolarsResult<DataFrame> {
    let text = |name: &str, f: &dyn Fn(&ProfileRecord) -> String| {
        Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>())
    };
    let optional = |name: &str, f: &dyn Fn(&ProfileRecord) -> Option<String>| {
        Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>())
    };
    let number = |name: &str, f: &dyn Fn(&ProfileRecord) -> Option<f64>| {
        Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>())
    };
    let list = |name: &str, f: &dyn Fn(&ProfileRecord) -> &String| {
        Column::new(
            name.into(),
            records
                .iter()
                .map(|r| Some(f(r).as_str()).filter(|s| !s.is_empty()))
                .collect::<Vec<_>>(),
        )
    };
    let mut columns = vec![
        text("id", &|r| r.id.clone()),
        text("name", &|r| r.name.clone()),
        text("actor_type", &|r| r.actor_type.clone()),
        text("entity_kind", &|r| r.entity_kind.clone()),
        text("country_iso3", &|r| r.country_iso3.clone()),
        optional("city", &|r| r.city.clone()),
        number("lat", &|r| r.lat),
        number("lon", &|r| r.lon),
        Column::new("population".into(), records.iter().map(|r| r.population).collect::<Vec<_>>()),
        optional("languages", &|r| r.languages.clone()),
        list("offers", &|r| &r.offers),
        list("needs", &|r| &r.needs),
        list("sectors", &|r| &r.sectors),
        list("roles", &|r| &r.roles),
    ];
    for v in 0..VALUE_COUNT {
        columns.push(number(&format!("v_{}", reference.values.id(v)), &|r| r.values[v]));
    }
    columns.extend([
        Column::new("capacity".into(), records.iter().map(|r| r.capacity).collect::<Vec<_>>()),
        optional("horizon", &|r| r.horizon.clone()),
        optional("contact_name", &|r| r.contact_name.clone()),
        optional("contact_email", &|r| r.contact_email.clone()),
        Column::new("active".into(), records.iter().map(|r| r.active).collect::<Vec<_>>()),
        Column::new("synthetic".into(), records.iter().map(|r| r.synthetic).collect::<Vec<_>>()),
    ]);
    DataFrame::new(records.len(), columns)
}

/// Runs `generate`: writes the file, returns the number of profiles.
pub fn write(config: &GenerateConfig) -> Result<usize, Error> {
    let reference = Reference::builtin();
    let format = TableFormat::from_path(&config.out)?;
    let target = config.out.display().to_string();
    let seeds = if config.with_seed_countries {
        seed_countries::profiles(reference)
    } else {
        Vec::new()
    };
    let generator = synthetic::Generator::new(reference, config.seed);
    let blocks = config.n.div_ceil(BLOCK);
    let mut written = 0;
    atomic::write_with(&config.out, |sink| -> Result<(), OutputError> {
        let schema = frame(&[], reference).map_err(write_error(&target))?.schema().as_ref().clone();
        let write_blocks = |write_batch: &mut dyn FnMut(&DataFrame) -> PolarsResult<()>| {
            if !seeds.is_empty() {
                write_batch(&frame(&seeds, reference)?)?;
            }
            for block in 0..blocks {
                let rows = BLOCK.min(config.n - block * BLOCK);
                write_batch(&frame(&generator.block(block, rows), reference)?)?;
            }
            Ok(())
        };
        match format {
            TableFormat::Csv => {
                let mut writer = CsvWriter::new(sink).include_header(true).batched(&schema).map_err(write_error(&target))?;
                write_blocks(&mut |df| writer.write_batch(df)).map_err(write_error(&target))?;
                writer.finish().map_err(write_error(&target))?;
            }
            TableFormat::Parquet => {
                let writer = ParquetWriter::new(sink).batched(&schema).map_err(write_error(&target))?;
                let mut writer = writer;
                write_blocks(&mut |df| writer.write_batch(df)).map_err(write_error(&target))?;
                writer.finish().map_err(write_error(&target))?;
            }
        }
        written = seeds.len() + config.n;
        Ok(())
    })?;
    Ok(written)
}
