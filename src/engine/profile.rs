//! The domain model: one validated partner profile.
//!
//! Input: produced by `ingest` from one table row. Output: consumed by `features` (vectors),
//! `output` (names, contacts) and the generator's writer. Vocabulary references are small
//! indices into the built-in vocabularies (`reference`), sets of them are [`IdSet`] bitsets.

/// A set of vocabulary indices (themes, sectors, roles), as a bitset. Every vocabulary has
/// fewer than 64 entries, so one word holds it and set operations are single instructions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IdSet(pub u64);

impl IdSet {
    /// The empty set.
    pub const EMPTY: IdSet = IdSet(0);

    /// Adds an index.
    pub fn insert(&mut self, index: u8) {
        self.0 |= 1 << index;
    }

    /// Whether an index is in the set.
    pub fn contains(self, index: u8) -> bool {
        self.0 & (1 << index) != 0
    }

    /// Number of indices in the set.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Indices in both sets.
    pub fn intersection(self, other: IdSet) -> IdSet {
        IdSet(self.0 & other.0)
    }

    /// Indices in either set.
    pub fn union(self, other: IdSet) -> IdSet {
        IdSet(self.0 | other.0)
    }

    /// The indices, ascending.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let index = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            Some(index)
        })
    }
}

/// What kind of entity a profile describes (separate from its actor type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A government as a whole.
    Country,
    /// Any organisation (the default).
    Organisation,
    /// A city or local authority.
    City,
}

impl EntityKind {
    /// The contract's spelling.
    pub const NAMES: [&'static str; 3] = ["country", "organisation", "city"];

    /// Parses the contract's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "country" => Some(EntityKind::Country),
            "organisation" | "organization" => Some(EntityKind::Organisation),
            "city" => Some(EntityKind::City),
            _ => None,
        }
    }

    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Country => "country",
            EntityKind::Organisation => "organisation",
            EntityKind::City => "city",
        }
    }
}

/// Where a profile's coordinates came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LocationSource {
    /// `lat` and `lon` were given.
    Given,
    /// Geocoded from the `city` column against the cities table.
    City,
    /// The country's centroid (no coordinates, no known city).
    Country,
}

/// Number of values in `values.csv`, the length of [`Profile::values`].
pub const VALUE_COUNT: usize = 8;

/// One validated partner profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Stable partner id, unique in the input.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Index into the actor-type vocabulary.
    pub actor_type: u8,
    /// Country, city or organisation.
    pub entity_kind: EntityKind,
    /// Index into the reference countries.
    pub country: u16,
    /// City name as given.
    pub city: Option<String>,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Where `lat`/`lon` came from.
    pub location_source: LocationSource,
    /// Inhabitants, when given.
    pub population: Option<u64>,
    /// ISO 639 language codes, primary first (the country's when not given).
    pub languages: Vec<String>,
    /// Whether `languages` was declared in the profile (not taken from the country).
    pub languages_declared: bool,
    /// Themes the partner can provide expertise in.
    pub offers: IdSet,
    /// Themes the partner seeks support in.
    pub needs: IdSet,
    /// Themes the partner funds (the `funds` column; empty when not given).
    pub funds: IdSet,
    /// Sub-regions a funder or facilitator focuses on (`focus_regions`, regions expanded to
    /// their sub-regions), by index into the reference's sub-regions; empty: no declared focus.
    pub focus_sub_regions: Vec<u16>,
    /// Countries it focuses on (`focus_countries`); empty: no declared focus.
    pub focus_countries: Vec<u16>,
    /// Economic sectors.
    pub sectors: IdSet,
    /// Roles it is willing to take.
    pub roles: IdSet,
    /// Each value in [0, 1], `None` when unknown.
    pub values: [Option<f32>; VALUE_COUNT],
    /// New partnerships it can take on in one campaign.
    pub capacity: Option<u32>,
    /// `short_term`, `long_term` or `ad_hoc`.
    pub horizon: Option<String>,
    /// Contact person, carried through to shortlists.
    pub contact_name: Option<String>,
    /// Contact e-mail, carried through to shortlists.
    pub contact_email: Option<String>,
    /// Inactive partners get no shortlist and are nobody's candidate.
    pub active: bool,
    /// 1-based data row in the input table.
    pub source_row: usize,
}

impl Profile {
    /// The languages a sentence may say it speaks: the declared ones, else only its
    /// country's main language (a country's other languages are not everyone's).
    pub fn spoken_languages(&self) -> &[String] {
        if self.languages_declared {
            &self.languages
        } else {
            &self.languages[..self.languages.len().min(1)]
        }
    }
}

/// A digest of everything a profile says but its row: equal on two nights when the partner
/// did not change (an incremental night keeps its list). Every field is named, so a field
/// added to [`Profile`] must be added here (the build says so). sha256 of the fields as
/// `Hash` feeds them (the standard hasher's output may change with the compiler; should
/// `Hash`'s encoding change, every partner looks changed: a full night, never a wrong one).
pub fn fingerprint(profile: &Profile) -> u64 {
    use std::hash::Hash;
    let Profile {
        id, name, actor_type, entity_kind, country, city, lat, lon, location_source, population, languages, languages_declared,
        offers, needs, funds, focus_sub_regions, focus_countries, sectors, roles, values, capacity, horizon, contact_name,
        contact_email, active, source_row: _,
    } = profile;
    let mut hasher = Sha256Hasher::default();
    (id, name, actor_type, entity_kind, country, city, lat.to_bits(), lon.to_bits(), location_source, population, languages).hash(&mut hasher);
    (languages_declared, offers, needs, funds, focus_sub_regions, focus_countries, sectors, roles).hash(&mut hasher);
    (values.map(|v| v.map(f32::to_bits)), capacity, horizon, contact_name, contact_email, active).hash(&mut hasher);
    hasher.digest()
}

/// [`std::hash::Hasher`] over sha256, for [`fingerprint`].
#[derive(Default)]
struct Sha256Hasher(sha2::Sha256);

impl Sha256Hasher {
    fn digest(self) -> u64 {
        use sha2::Digest;
        u64::from_le_bytes(self.0.finalize()[..8].try_into().expect("8 bytes"))
    }
}

impl std::hash::Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        sha2::Digest::update(&mut self.0, bytes);
    }

    fn finish(&self) -> u64 {
        Sha256Hasher(self.0.clone()).digest()
    }
}

/// Profile indices by id ([`id_index`]).
pub type IdIndex<'a> = foldhash::HashMap<&'a str, crate::PartnerIdx>;

/// Every profile's index by id: for reading many ids (another run's lists) at once, hashed
/// by foldhash (several times faster than std's SipHash on short strings).
pub fn id_index(profiles: &[Profile]) -> IdIndex<'_> {
    profiles.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as crate::PartnerIdx)).collect()
}

/// The index of the profile with this id in `profiles` (sorted by id, as ingest leaves them).
pub fn index_of(profiles: &[Profile], id: &str) -> Option<crate::PartnerIdx> {
    profiles.binary_search_by(|p| p.id.as_str().cmp(id)).ok().map(|i| i as crate::PartnerIdx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_set_iterates_ascending_and_counts() {
        let mut set = IdSet::EMPTY;
        for i in [35, 0, 7] {
            set.insert(i);
        }
        assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 7, 35]);
        assert_eq!(set.len(), 3);
        assert!(set.contains(7) && !set.contains(8));
        let mut other = IdSet::EMPTY;
        other.insert(7);
        assert_eq!(set.intersection(other), other);
    }
}
