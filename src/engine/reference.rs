//! The shipped reference data, embedded in the binary so the engine runs from any directory.
//!
//! Input: the files under `data/` (vocabularies, countries, cities, the actor-type
//! compatibility table), compiled in with `include_bytes!`. Output: one [`Reference`] with
//! lookups by id, used by ingest (validation, geocoding), features and the generator.
//! The same files stay readable on disk for analysts.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::engine::profile::IdSet;
use crate::io::table::{StringTable, TableFormat, TableSource};

macro_rules! embedded {
    ($path:literal) => {
        TableSource::Bytes {
            name: concat!($path, " (built in)").to_string(),
            bytes: std::borrow::Cow::Borrowed(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path))),
            format: TableFormat::Csv,
        }
    };
}

/// The default profile set shipped in `data/profiles/default.csv`.
pub fn default_profiles() -> TableSource {
    embedded!("data/profiles/default.csv")
}

/// A controlled vocabulary (themes, actor types, sectors, values, roles): ids in file order.
#[derive(Debug)]
pub struct Vocabulary {
    /// What the vocabulary is called in messages ("theme", "actor type", ...).
    pub kind: &'static str,
    ids: Vec<String>,
    labels: Vec<String>,
    index: HashMap<String, u8>,
}

impl Vocabulary {
    fn new(kind: &'static str, ids: Vec<String>, labels: Vec<String>) -> Self {
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), u8::try_from(i).expect("vocabulary under 256 ids")))
            .collect();
        Vocabulary {
            kind,
            ids,
            labels,
            index,
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the vocabulary has no ids.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The position of an id.
    pub fn lookup(&self, id: &str) -> Option<u8> {
        self.index.get(id).copied()
    }

    /// The id at a position.
    pub fn id(&self, index: usize) -> &str {
        &self.ids[index]
    }

    /// The human label at a position (the id when the vocabulary has no labels).
    pub fn label(&self, index: usize) -> &str {
        &self.labels[index]
    }

    /// The ids of a set, `;`-separated as in the profile contract's list cells.
    pub fn ids_of(&self, set: IdSet) -> String {
        set.iter().map(|i| self.id(i as usize)).collect::<Vec<_>>().join(";")
    }

    /// All ids in order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The closest valid id to a misspelt one, when one is close enough to be a likely typo.
    pub fn suggest(&self, wrong: &str) -> Option<&str> {
        let wrong = wrong.to_ascii_lowercase();
        self.ids
            .iter()
            .map(|id| (strsim::jaro_winkler(&wrong, id), id))
            .filter(|(similarity, _)| *similarity >= 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id.as_str())
    }
}

/// One country of `data/reference/countries.csv`.
#[derive(Debug)]
pub struct Country {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// Short English name.
    pub name: String,
    /// UN M49 region (Africa, Americas, Asia, Europe, Oceania).
    pub region: String,
    /// UN M49 sub-region, e.g. "Sub-Saharan Africa"; index into [`Reference::sub_regions`].
    pub sub_region: u16,
    /// Centroid latitude, degrees.
    pub lat: f64,
    /// Centroid longitude, degrees.
    pub lon: f64,
    /// World Bank income group ("Low", "Lower middle", "Upper middle", "High", or empty).
    pub income: String,
    /// M49 developing-region flag: the default Global South classification.
    pub developing: bool,
    /// Languages, primary first (ISO 639 codes).
    pub languages: Vec<String>,
    /// Inhabitants.
    pub population: u64,
}

/// One city of `data/reference/cities.csv`.
#[derive(Debug)]
pub struct City {
    /// City name as GeoNames spells it.
    pub name: String,
    /// Index into [`Reference::countries`].
    pub country: u16,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Inhabitants.
    pub population: u64,
}

/// All shipped reference data.
#[derive(Debug)]
pub struct Reference {
    /// The 36 thematic areas (offers and needs).
    pub themes: Vocabulary,
    /// Family of each theme, by theme index.
    pub theme_families: Vec<String>,
    /// The 17 kinds of partner.
    pub actor_types: Vocabulary,
    /// The 25 economic sectors (labels from `data/mappings/sector_labels.csv`).
    pub sectors: Vocabulary,
    /// The 8 principles of values alignment.
    pub values: Vocabulary,
    /// provider, beneficiary, funder, facilitator.
    pub roles: Vocabulary,
    /// Countries, in file order.
    pub countries: Vec<Country>,
    /// Distinct UN M49 sub-regions, indexed by [`Country::sub_region`].
    pub sub_regions: Vec<String>,
    /// Cities of 50,000+ inhabitants.
    pub cities: Vec<City>,
    country_index: HashMap<String, u16>,
    city_index: HashMap<(u16, String), u32>,
    /// Actor-type compatibility, row-major `actor_types.len()²`, symmetric, in [0, 1].
    pub actor_compatibility: Vec<f32>,
    /// A short noun per actor type for sentences ("UN agency"), by actor-type index.
    pub actor_nouns: Vec<String>,
    /// What a partner offering a theme has experience in ("eliminating child labour"), by
    /// theme index.
    pub theme_offer_phrases: Vec<String>,
    /// What a partner needing a theme seeks support on ("ending child labour"), by theme index.
    pub theme_need_phrases: Vec<String>,
    /// English names of languages by code ("fr" → "French").
    pub language_names: HashMap<String, String>,
}

static BUILTIN: OnceLock<Reference> = OnceLock::new();

impl Reference {
    /// The reference data compiled into the binary (parsed once).
    pub fn builtin() -> &'static Reference {
        BUILTIN.get_or_init(|| {
            Reference::load().expect("the built-in reference data is valid (checked by tests)")
        })
    }

    fn load() -> Result<Reference, String> {
        let themes_table = read(embedded!("data/vocabulary/themes.csv"))?;
        let themes = vocabulary("theme", &themes_table, Some("label"))?;
        let theme_families = column(&themes_table, "family")?;
        let actor_types = vocabulary(
            "actor type",
            &read(embedded!("data/vocabulary/actor_types.csv"))?,
            Some("label"),
        )?;
        let sectors = vocabulary("sector", &read(embedded!("data/vocabulary/sectors.csv"))?, None)?;
        let values = vocabulary(
            "value",
            &read(embedded!("data/vocabulary/values.csv"))?,
            Some("meaning"),
        )?;
        let roles = vocabulary("role", &read(embedded!("data/vocabulary/roles.csv"))?, None)?;
        let (countries, sub_regions) = countries(&read(embedded!("data/reference/countries.csv"))?)?;
        let country_index = countries
            .iter()
            .enumerate()
            .map(|(i, c)| (c.iso3.clone(), i as u16))
            .collect::<HashMap<_, _>>();
        let cities = cities(&read(embedded!("data/reference/cities.csv"))?, &country_index)?;
        let mut city_index: HashMap<(u16, String), u32> = HashMap::new();
        for (i, city) in cities.iter().enumerate() {
            let key = (city.country, normalise_place(&city.name));
            let keep_existing = city_index
                .get(&key)
                .is_some_and(|&other| cities[other as usize].population >= city.population);
            if !keep_existing {
                city_index.insert(key, i as u32);
            }
        }
        let actor_compatibility =
            compatibility(&read(embedded!("data/mappings/actor_compatibility.csv"))?, &actor_types)?;
        let actor_nouns = per_id(&actor_types, &read(embedded!("data/mappings/actor_type_nouns.csv"))?, "noun")?;
        let phrases = read(embedded!("data/mappings/theme_phrases.csv"))?;
        let theme_offer_phrases = per_id(&themes, &phrases, "offer")?;
        let theme_need_phrases = per_id(&themes, &phrases, "need")?;
        let sectors = Vocabulary::new("sector", sectors.ids().to_vec(), per_id(&sectors, &read(embedded!("data/mappings/sector_labels.csv"))?, "label")?);
        let languages = read(embedded!("data/reference/languages.csv"))?;
        let language_names = column(&languages, "code")?.into_iter().zip(column(&languages, "name")?).collect();
        Ok(Reference {
            actor_nouns,
            theme_offer_phrases,
            theme_need_phrases,
            language_names,
            themes,
            theme_families,
            actor_types,
            sectors,
            values,
            roles,
            countries,
            sub_regions,
            cities,
            country_index,
            city_index,
            actor_compatibility,
        })
    }

    /// The sub-regions a UN M49 region or sub-region name covers (any case): one for a
    /// sub-region, all of a region's; `None` for an unknown name.
    pub fn sub_regions_named(&self, name: &str) -> Option<Vec<u16>> {
        if let Some(i) = self.sub_regions.iter().position(|s| s.eq_ignore_ascii_case(name)) {
            return Some(vec![i as u16]);
        }
        let mut found: Vec<u16> = self.countries.iter().filter(|c| c.region.eq_ignore_ascii_case(name)).map(|c| c.sub_region).collect();
        found.sort_unstable();
        found.dedup();
        (!found.is_empty()).then_some(found)
    }

    /// Country index by ISO alpha-3 code (upper case).
    pub fn country(&self, iso3: &str) -> Option<u16> {
        self.country_index.get(iso3).copied()
    }

    /// The most populous city of that name in that country; names compare without case or
    /// diacritics ("Sao Paulo" finds "São Paulo").
    pub fn city(&self, country: u16, name: &str) -> Option<&City> {
        self.city_index
            .get(&(country, normalise_place(name)))
            .map(|&i| &self.cities[i as usize])
    }

    /// Compatibility of two actor types, in [0, 1].
    pub fn compatibility(&self, a: u8, b: u8) -> f32 {
        self.actor_compatibility[a as usize * self.actor_types.len() + b as usize]
    }
}

/// Folds a place name for lookup: ASCII transliteration, lower case, single spaces.
pub fn normalise_place(name: &str) -> String {
    deunicode::deunicode(name)
        .to_ascii_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn read(source: TableSource) -> Result<StringTable, String> {
    StringTable::read(&source).map_err(|e| e.to_string())
}

fn column(table: &StringTable, name: &str) -> Result<Vec<String>, String> {
    let position = table
        .position(name)
        .ok_or_else(|| format!("{}: no column {name}", table.source_name()))?;
    Ok((0..table.height())
        .map(|row| table.cell(position, row).unwrap_or_default().to_string())
        .collect())
}

/// One text per id of `vocabulary`, in its order, from `column` of a mapping table keyed by
/// `id`; every id must have one.
fn per_id(vocabulary: &Vocabulary, table: &StringTable, name: &str) -> Result<Vec<String>, String> {
    let ids = column(table, "id")?;
    let texts = column(table, name)?;
    vocabulary
        .ids()
        .iter()
        .map(|id| {
            ids.iter()
                .position(|n| n == id)
                .map(|i| texts[i].clone())
                .ok_or_else(|| format!("{}: no {name} for {id}", table.source_name()))
        })
        .collect()
}

fn vocabulary(
    kind: &'static str,
    table: &StringTable,
    label_column: Option<&str>,
) -> Result<Vocabulary, String> {
    let ids = column(table, "id")?;
    let labels = match label_column {
        Some(name) => column(table, name)?,
        None => ids.clone(),
    };
    Ok(Vocabulary::new(kind, ids, labels))
}

fn number<T: std::str::FromStr>(table: &StringTable, col: usize, row: usize) -> Result<T, String> {
    let text = table.cell(col, row).unwrap_or_default();
    text.parse().map_err(|_| {
        format!(
            "{}: row {}: '{}' is not a number in column {}",
            table.source_name(),
            row + 1,
            text,
            table.column_names()[col]
        )
    })
}

fn positions<const N: usize>(table: &StringTable, names: [&str; N]) -> Result<[usize; N], String> {
    let mut out = [0; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = table
            .position(name)
            .ok_or_else(|| format!("{}: no column {name}", table.source_name()))?;
    }
    Ok(out)
}

fn countries(table: &StringTable) -> Result<(Vec<Country>, Vec<String>), String> {
    let [iso3, name, region, sub_region, lat, lon, income, developing, languages, population] =
        positions(
            table,
            [
                "iso3",
                "name",
                "region",
                "sub_region",
                "lat",
                "lon",
                "wb_income",
                "m49_developing",
                "languages",
                "population",
            ],
        )?;
    let mut sub_regions: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(table.height());
    for row in 0..table.height() {
        let text = |col| table.cell(col, row).unwrap_or_default().to_string();
        let sub = text(sub_region);
        let sub_index = match sub_regions.iter().position(|s| *s == sub) {
            Some(i) => i,
            None => {
                sub_regions.push(sub);
                sub_regions.len() - 1
            }
        };
        out.push(Country {
            iso3: text(iso3),
            name: text(name),
            region: text(region),
            sub_region: sub_index as u16,
            lat: number(table, lat, row)?,
            lon: number(table, lon, row)?,
            income: text(income),
            developing: text(developing) == "1",
            languages: text(languages)
                .split(';')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            population: number(table, population, row).unwrap_or(0),
        });
    }
    Ok((out, sub_regions))
}

fn cities(table: &StringTable, country_index: &HashMap<String, u16>) -> Result<Vec<City>, String> {
    let [name, country, lat, lon, population] =
        positions(table, ["name", "country_iso3", "lat", "lon", "population"])?;
    let mut out = Vec::with_capacity(table.height());
    for row in 0..table.height() {
        let iso3 = table.cell(country, row).unwrap_or_default();
        let Some(&country) = country_index.get(iso3) else {
            continue; // a city of a territory the country table leaves out
        };
        out.push(City {
            name: table.cell(name, row).unwrap_or_default().to_string(),
            country,
            lat: number(table, lat, row)?,
            lon: number(table, lon, row)?,
            population: number(table, population, row)?,
        });
    }
    Ok(out)
}

/// Reads an actor-type compatibility table (a square matrix with an `actor_type` column and
/// one column per actor type), checking it is complete, symmetric and within [0, 1].
pub fn compatibility(table: &StringTable, actor_types: &Vocabulary) -> Result<Vec<f32>, String> {
    let n = actor_types.len();
    let mut matrix = vec![f32::NAN; n * n];
    let row_key = table
        .position("actor_type")
        .ok_or("no actor_type column; the first column names the actor type of each row")?;
    for row in 0..table.height() {
        let a_id = table.cell(row_key, row).unwrap_or_default();
        let a = actor_types
            .lookup(a_id)
            .ok_or_else(|| format!("unknown actor type {a_id}"))?;
        for b in 0..n {
            let col = table
                .position(actor_types.id(b))
                .ok_or_else(|| format!("no column {}; every actor type needs a column", actor_types.id(b)))?;
            let value: f32 = number(table, col, row)?;
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{a_id} × {}: {value} is outside [0, 1]", actor_types.id(b)));
            }
            matrix[a as usize * n + b] = value;
        }
    }
    for a in 0..n {
        for b in 0..n {
            if matrix[a * n + b].is_nan() || matrix[a * n + b] != matrix[b * n + a] {
                return Err(format!(
                    "{} × {} is missing or not symmetric; the table must list every pair both ways with the same value",
                    actor_types.id(a),
                    actor_types.id(b)
                ));
            }
        }
    }
    Ok(matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_reference_loads_with_expected_sizes() {
        let r = Reference::builtin();
        assert_eq!(r.themes.len(), 36);
        assert_eq!(r.actor_types.len(), 17);
        assert_eq!(r.sectors.len(), 25);
        assert_eq!(r.values.len(), 8);
        assert_eq!(r.roles.len(), 4);
        assert_eq!(r.countries.len(), 247);
        assert!(r.cities.len() > 12_000);
    }

    #[test]
    fn every_coordinate_is_a_coordinate() {
        let r = Reference::builtin();
        for (lat, lon, what) in r.countries.iter().map(|c| (c.lat, c.lon, &c.iso3)).chain(r.cities.iter().map(|c| (c.lat, c.lon, &c.name))) {
            assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon), "{what}: {lat}, {lon}");
        }
    }

    #[test]
    fn city_lookup_ignores_case_and_diacritics() {
        let r = Reference::builtin();
        let bra = r.country("BRA").unwrap();
        let city = r.city(bra, "sao paulo").expect("São Paulo is in the table");
        assert_eq!(city.name, "São Paulo");
        assert!(r.city(bra, "Atlantis").is_none());
    }

    #[test]
    fn suggestion_finds_a_typo_but_not_nonsense() {
        let r = Reference::builtin();
        assert_eq!(r.themes.suggest("social_protecton"), Some("social_protection"));
        assert_eq!(r.themes.suggest("zzzz"), None);
    }

    #[test]
    fn compatibility_table_is_symmetric_and_peers_score_high() {
        let r = Reference::builtin();
        let city = r.actor_types.lookup("local_authority").unwrap();
        let network = r.actor_types.lookup("city_network").unwrap();
        let union = r.actor_types.lookup("workers_organisation").unwrap();
        let coop = r.actor_types.lookup("sse_unit").unwrap();
        assert_eq!(r.compatibility(city, network), 1.0);
        assert_eq!(r.compatibility(union, coop), r.compatibility(coop, union));
        assert!(r.compatibility(union, coop) > r.compatibility(union, network));
    }
}
