//! The 17 real country profiles of the ILO guide's "Table 2: Countries".
//!
//! Input: `data/sources/seed_countries.tsv` (country, regional group, six thematic priorities
//! in prose, named SSTC initiatives), `data/mappings/seed_country_codes.csv` and the keyword
//! tables `data/mappings/theme_keywords.csv` and `sector_keywords.csv`. Output: one
//! [`ProfileRecord`] per country, `entity_kind = country`, `actor_type = national_government`.
//!
//! The documented mapping: a theme is a **need** when one of its keywords occurs (case
//! insensitive, as a substring) in the country's thematic priorities, and an **offer** when
//! one occurs in the titles of its named SSTC initiatives (what it has done and can share);
//! sectors come from either text. Values are left unknown: the source does not state them.

use super::ProfileRecord;
use crate::engine::reference::{Reference, Vocabulary};
use crate::io::table::{StringTable, TableFormat, TableSource};

const SEED_TSV: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/sources/seed_countries.tsv"));

fn embedded_csv(name: &str, bytes: &'static [u8]) -> StringTable {
    StringTable::read(&TableSource::Bytes {
        name: name.to_string(),
        bytes: std::borrow::Cow::Borrowed(bytes),
        format: TableFormat::Csv,
    })
    .expect("shipped mapping tables are valid CSV (tested)")
}

/// A keyword table: vocabulary index → lower-case keywords.
struct KeywordTable(Vec<(u8, Vec<String>)>);

impl KeywordTable {
    fn load(table: &StringTable, vocabulary: &Vocabulary) -> Self {
        let (id, keywords) = (0, 1);
        KeywordTable(
            (0..table.height())
                .map(|row| {
                    let index = vocabulary
                        .lookup(table.cell(id, row).unwrap_or_default())
                        .expect("mapping ids are vocabulary ids (tested)");
                    let words = table
                        .cell(keywords, row)
                        .unwrap_or_default()
                        .split(';')
                        .map(|w| w.trim().to_lowercase())
                        .filter(|w| !w.is_empty())
                        .collect();
                    (index, words)
                })
                .collect(),
        )
    }

    /// Vocabulary ids whose keywords occur in `text`, in vocabulary order, `;`-joined.
    fn matches(&self, text: &str, vocabulary: &Vocabulary) -> String {
        let text = text.to_lowercase();
        let mut found: Vec<u8> = self
            .0
            .iter()
            .filter(|(_, words)| words.iter().any(|w| text.contains(w.as_str())))
            .map(|(index, _)| *index)
            .collect();
        found.sort_unstable();
        found
            .iter()
            .map(|&i| vocabulary.id(i as usize))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The 17 country profiles, in the source's order.
pub fn profiles(reference: &Reference) -> Vec<ProfileRecord> {
    let themes = KeywordTable::load(
        &embedded_csv("theme_keywords.csv", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mappings/theme_keywords.csv"))),
        &reference.themes,
    );
    let sectors = KeywordTable::load(
        &embedded_csv("sector_keywords.csv", include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mappings/sector_keywords.csv"))),
        &reference.sectors,
    );
    let codes = embedded_csv(
        "seed_country_codes.csv",
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mappings/seed_country_codes.csv")),
    );
    let iso3_of = |name: &str| {
        (0..codes.height())
            .find(|&row| codes.cell(0, row) == Some(name))
            .and_then(|row| codes.cell(1, row))
            .expect("every seed country has a code (tested)")
            .to_string()
    };
    SEED_TSV
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let priorities = fields[2..8].join(" ");
            let initiatives = fields.get(8).copied().unwrap_or_default();
            let iso3 = iso3_of(fields[0]);
            let country = &reference.countries[reference.country(&iso3).expect("known code") as usize];
            ProfileRecord {
                id: format!("country-{}", iso3.to_lowercase()),
                name: country.name.clone(),
                actor_type: "national_government".into(),
                entity_kind: "country".into(),
                country_iso3: iso3,
                population: Some(country.population),
                offers: themes.matches(initiatives, &reference.themes),
                needs: themes.matches(&priorities, &reference.themes),
                sectors: sectors.matches(&format!("{priorities} {initiatives}"), &reference.sectors),
                roles: "provider;beneficiary".into(),
                active: true,
                ..ProfileRecord::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_17_countries_map_with_needs() {
        let records = profiles(Reference::builtin());
        assert_eq!(records.len(), 17);
        assert!(records.iter().all(|r| !r.needs.is_empty()), "every country states priorities");
    }

    #[test]
    fn algeria_mapping_checked_by_hand() {
        // Initiatives: "Program of South-South Cooperation for the African countries in the
        // domain of social dialogue and social protection" (twice, in two wordings).
        let records = profiles(Reference::builtin());
        let algeria = records.iter().find(|r| r.country_iso3 == "DZA").unwrap();
        assert_eq!(algeria.offers, "social_protection;social_dialogue;knowledge_capacity");
        // Priorities name human rights and access to justice, social protection, education,
        // healthcare, women, gender-based violence, disabilities, refugees, pollution, clean water.
        for need in [
            "social_protection",
            "health_access",
            "human_rights_justice",
            "gender_equality",
            "disability_inclusion",
            "refugees_host_communities",
            "education_access",
            "environment",
        ] {
            assert!(algeria.needs.split(';').any(|n| n == need), "{need} in {}", algeria.needs);
        }
    }
}
