//! Row rules of the profile contract.
//!
//! Input: one row of a [`StringTable`] and the located [`Columns`]. Output: a [`Profile`], or
//! every problem of the row as [`Rejection`]s (all problems at once, so one fix-up pass
//! suffices). Strictness per problem is documented in README.md ("Input contract").

use crate::engine::ingest::{IngestError, Rejection};
use crate::engine::profile::{EntityKind, IdSet, LocationSource, Profile, VALUE_COUNT};
use crate::engine::reference::{Reference, Vocabulary};
use crate::io::table::StringTable;

/// Columns every profile table must have.
pub const REQUIRED_COLUMNS: [&str; 4] = ["id", "name", "actor_type", "country_iso3"];

const OPTIONAL_COLUMNS: [&str; 19] = [
    "entity_kind",
    "city",
    "lat",
    "lon",
    "population",
    "languages",
    "offers",
    "needs",
    "funds",
    "focus_regions",
    "focus_countries",
    "sectors",
    "roles",
    "capacity",
    "horizon",
    "contact_name",
    "contact_email",
    "active",
    "synthetic",
];

const HORIZONS: [&str; 3] = ["short_term", "long_term", "ad_hoc"];

/// The longest cell accepted, in bytes: a longer one is a broken export, not a partner.
pub const MAX_CELL_BYTES: usize = 10_000;

/// Whether a column name is part of the contract (others are ignored and reported).
pub fn is_contract_column(name: &str, reference: &Reference) -> bool {
    REQUIRED_COLUMNS.contains(&name)
        || OPTIONAL_COLUMNS.contains(&name)
        || name
            .strip_prefix("v_")
            .is_some_and(|value| reference.values.lookup(value).is_some())
}

/// Positions of the contract's columns in one table.
pub struct Columns {
    /// `id` (required).
    pub id: usize,
    name: usize,
    actor_type: usize,
    country_iso3: usize,
    optional: [Option<usize>; OPTIONAL_COLUMNS.len()],
    values: [Option<usize>; VALUE_COUNT],
}

impl Columns {
    /// Finds the columns by header name; fails naming every missing required column.
    pub fn locate(table: &StringTable, reference: &Reference) -> Result<Self, IngestError> {
        let missing: Vec<String> = REQUIRED_COLUMNS
            .iter()
            .filter(|name| table.position(name).is_none())
            .map(|name| name.to_string())
            .collect();
        if !missing.is_empty() {
            let found = table.column_names().to_vec();
            let hint = match found.iter().find(|n| n.contains(';') || n.contains('\t')) {
                Some(name) if name.contains(';') => "; the header looks separated by ';': save the file as comma-separated CSV",
                Some(_) => "; the header looks separated by tabs: save the file as comma-separated CSV",
                None => "",
            };
            return Err(IngestError::MissingColumns {
                file: table.source_name().to_string(),
                missing,
                found,
                hint: hint.to_string(),
            });
        }
        let position = |name: &str| table.position(name).expect("checked above");
        Ok(Columns {
            id: position("id"),
            name: position("name"),
            actor_type: position("actor_type"),
            country_iso3: position("country_iso3"),
            optional: OPTIONAL_COLUMNS.map(|name| table.position(name)),
            values: std::array::from_fn(|i| {
                table.position(&format!("v_{}", reference.values.id(i)))
            }),
        })
    }

    fn optional(&self, name: &str) -> Option<usize> {
        let slot = OPTIONAL_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("a contract column");
        self.optional[slot]
    }
}

/// Collects the problems of one row while its fields are parsed.
struct RowCheck<'a> {
    table: &'a StringTable,
    row: usize,
    problems: Vec<Rejection>,
}

impl<'a> RowCheck<'a> {
    fn cell(&self, column: Option<usize>) -> Option<&'a str> {
        column.and_then(|c| self.table.cell(c, self.row))
    }

    fn problem(&mut self, column: usize, value: &str, reason: String) {
        self.problems.push(Rejection {
            file: self.table.source_name().to_string(),
            row: self.table.source_row(self.row) + 1,
            column: self.table.column_names()[column].clone(),
            value: value.to_string(),
            reason,
        });
    }

    fn required(&mut self, column: usize) -> Option<&'a str> {
        let value = self.cell(Some(column));
        if value.is_none() {
            self.problem(column, "", "required field is empty; fill it in".into());
        }
        value
    }

    fn vocabulary_id(&mut self, column: usize, text: &str, vocabulary: &Vocabulary) -> Option<u8> {
        let found = vocabulary.lookup(text);
        if found.is_none() {
            let hint = match vocabulary.suggest(text) {
                Some(close) => format!("did you mean '{close}'?"),
                None => format!("see data/vocabulary for the {} ids", vocabulary.kind),
            };
            self.problem(column, text, format!("unknown {} id '{text}'; {hint}", vocabulary.kind));
        }
        found
    }

    fn id_set(&mut self, column: Option<usize>, vocabulary: &Vocabulary) -> IdSet {
        let mut set = IdSet::EMPTY;
        if let (Some(column), Some(text)) = (column, self.cell(column)) {
            for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                if let Some(index) = self.vocabulary_id(column, item, vocabulary) {
                    set.insert(index);
                }
            }
        }
        set
    }

    /// The `;`-separated items of a cell, each found by `find` (a list of indices) or reported
    /// with `unknown(item)`.
    fn list<T>(&mut self, column: Option<usize>, find: impl Fn(&str) -> Option<Vec<T>>, unknown: impl Fn(&str) -> String) -> Vec<T> {
        let mut found = Vec::new();
        if let (Some(column), Some(text)) = (column, self.cell(column)) {
            for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                match find(item) {
                    Some(items) => found.extend(items),
                    None => self.problem(column, item, unknown(item)),
                }
            }
        }
        found
    }

    fn number(&mut self, column: Option<usize>, range: (f64, f64), what: &str) -> Option<f64> {
        let (column, text) = (column?, self.cell(column)?);
        let decimal = if self.table.decimal_comma() { text.replace(',', ".") } else { text.to_string() };
        match decimal.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= range.0 && v <= range.1 => Some(v),
            Ok(v) if v.is_finite() => {
                self.problem(
                    column,
                    text,
                    format!("{what} {v} is outside [{}, {}]", range.0, range.1),
                );
                None
            }
            _ => {
                self.problem(column, text, format!("'{text}' is not a number ({what})"));
                None
            }
        }
    }

    fn whole_number(&mut self, column: Option<usize>, what: &str) -> Option<u64> {
        let (column, text) = (column?, self.cell(column)?);
        // Spreadsheet exports often write whole numbers as "1200.0".
        let parsed = text
            .parse::<u64>()
            .ok()
            .or_else(|| text.strip_suffix(".0").and_then(|t| t.parse().ok()));
        if parsed.is_none() {
            let digits = text.strip_suffix(".0").unwrap_or(text);
            let reason = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                format!("'{text}' is too large ({what}: at most {})", u64::MAX)
            } else {
                format!("'{text}' is not a whole number ≥ 0 ({what})")
            };
            self.problem(column, text, reason);
        }
        parsed
    }
}

/// Validates one row into a profile, or returns all of its problems.
pub fn row(
    table: &StringTable,
    columns: &Columns,
    row: usize,
    reference: &Reference,
) -> Result<Profile, Vec<Rejection>> {
    let mut check = RowCheck {
        table,
        row,
        problems: Vec::new(),
    };
    for column in 0..table.column_names().len() {
        let Some(value) = check.cell(Some(column)) else { continue };
        if value.len() > MAX_CELL_BYTES {
            let start: String = value.chars().take(40).collect();
            check.problem(
                column,
                &format!("{start}…"),
                format!("the value is {} bytes long; at most {MAX_CELL_BYTES} are accepted", value.len()),
            );
        } else if table.invalid_utf8(row) && value.contains('\u{fffd}') {
            check.problem(column, value, "the value is not valid UTF-8; save the file as UTF-8".into());
        }
    }
    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    let id = check.required(columns.id);
    let name = check.required(columns.name);
    let actor_type = check
        .required(columns.actor_type)
        .and_then(|text| check.vocabulary_id(columns.actor_type, text, &reference.actor_types));
    let country = check.required(columns.country_iso3).and_then(|text| {
        let code = text.to_ascii_uppercase();
        let found = reference.country(&code);
        if found.is_none() {
            check.problem(
                columns.country_iso3,
                text,
                format!("unknown country code '{text}'; use an ISO 3166-1 alpha-3 code as in data/reference/countries.csv"),
            );
        }
        found
    });

    let kind_column = columns.optional("entity_kind");
    let entity_kind = match check.cell(kind_column) {
        None => Some(EntityKind::Organisation),
        Some(text) => {
            let kind = EntityKind::parse(&text.to_ascii_lowercase());
            if kind.is_none() {
                check.problem(
                    kind_column.expect("has a cell"),
                    text,
                    format!("entity_kind must be one of {}", EntityKind::NAMES.join(", ")),
                );
            }
            kind
        }
    };

    let lat_column = columns.optional("lat");
    let lon_column = columns.optional("lon");
    let lat = check.number(lat_column, (-90.0, 90.0), "latitude");
    let lon = check.number(lon_column, (-180.0, 180.0), "longitude");
    let (lat_given, lon_given) = (check.cell(lat_column), check.cell(lon_column));
    if lat_given.is_some() != lon_given.is_some() {
        let (column, present) = if lat_given.is_some() {
            (lon_column, "lat")
        } else {
            (lat_column, "lon")
        };
        if let Some(column) = column {
            check.problem(
                column,
                "",
                format!("{present} is given but this coordinate is empty; give both or neither"),
            );
        }
    }

    let population = check.whole_number(columns.optional("population"), "population");
    let capacity = check
        .whole_number(columns.optional("capacity"), "capacity")
        .map(|c| c.min(u32::MAX as u64) as u32);

    let languages_column = columns.optional("languages");
    let mut languages = Vec::new();
    if let Some(text) = check.cell(languages_column) {
        for code in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let lower = code.to_ascii_lowercase();
            if (2..=3).contains(&lower.len()) && lower.bytes().all(|b| b.is_ascii_lowercase()) {
                if !languages.contains(&lower) {
                    languages.push(lower);
                }
            } else {
                check.problem(
                    languages_column.expect("has a cell"),
                    code,
                    format!("'{code}' is not an ISO 639 language code (two letters, e.g. 'fr')"),
                );
            }
        }
    }

    let offers = check.id_set(columns.optional("offers"), &reference.themes);
    let needs = check.id_set(columns.optional("needs"), &reference.themes);
    let funds = check.id_set(columns.optional("funds"), &reference.themes);
    let focus_sub_regions = check.list(
        columns.optional("focus_regions"),
        |name| reference.sub_regions_named(name),
        |name| format!("unknown region '{name}'; use a UN M49 region or sub-region name as in data/reference/countries.csv (e.g. Africa, Sub-Saharan Africa)"),
    );
    let focus_countries = check.list(
        columns.optional("focus_countries"),
        |code| reference.country(&code.to_ascii_uppercase()).map(|c| vec![c]),
        |code| format!("unknown country code '{code}' in focus_countries; use ISO 3166-1 alpha-3 codes"),
    );
    let sectors = check.id_set(columns.optional("sectors"), &reference.sectors);
    let mut roles = check.id_set(columns.optional("roles"), &reference.roles);
    if check.cell(columns.optional("roles")).is_none() {
        for role in ["provider", "beneficiary"] {
            roles.insert(reference.roles.lookup(role).expect("contract role"));
        }
    }

    let mut values = [None; VALUE_COUNT];
    for (slot, column) in values.iter_mut().zip(columns.values) {
        *slot = check.number(column, (0.0, 1.0), "value score").map(|v| v as f32);
    }

    let horizon_column = columns.optional("horizon");
    let horizon = check.cell(horizon_column).and_then(|text| {
        let lower = text.to_ascii_lowercase();
        if HORIZONS.contains(&lower.as_str()) {
            Some(lower)
        } else {
            check.problem(
                horizon_column.expect("has a cell"),
                text,
                format!("horizon must be one of {}", HORIZONS.join(", ")),
            );
            None
        }
    });

    let active_column = columns.optional("active");
    let active = match check.cell(active_column).map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            let other = other.to_string();
            check.problem(
                active_column.expect("has a cell"),
                &other,
                "active must be true or false".into(),
            );
            true
        }
    };

    let city = check.cell(columns.optional("city")).map(str::to_string);
    let contact_name = check.cell(columns.optional("contact_name")).map(str::to_string);
    let contact_email = check.cell(columns.optional("contact_email")).map(str::to_string);

    if !check.problems.is_empty() {
        return Err(check.problems);
    }
    let (id, name, actor_type, country, entity_kind) = (
        id.expect("no problems"),
        name.expect("no problems"),
        actor_type.expect("no problems"),
        country.expect("no problems"),
        entity_kind.expect("no problems"),
    );
    let country_ref = &reference.countries[country as usize];
    let (lat, lon, location_source) = match (lat, lon) {
        (Some(lat), Some(lon)) => (lat, lon, LocationSource::Given),
        _ => match city.as_deref().and_then(|c| reference.city(country, c)) {
            Some(found) => (found.lat, found.lon, LocationSource::City),
            None => (country_ref.lat, country_ref.lon, LocationSource::Country),
        },
    };
    let languages_declared = !languages.is_empty();
    if !languages_declared {
        languages = country_ref.languages.clone();
    }
    Ok(Profile {
        id: id.to_string(),
        name: name.to_string(),
        actor_type,
        entity_kind,
        country,
        city,
        lat,
        lon,
        location_source,
        population,
        languages,
        languages_declared,
        offers,
        needs,
        funds,
        focus_sub_regions,
        focus_countries,
        sectors,
        roles,
        values,
        capacity,
        horizon,
        contact_name,
        contact_email,
        active,
        source_row: table.source_row(row) + 1,
    })
}
