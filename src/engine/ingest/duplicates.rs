//! Likely duplicates: two records (different ids) that are probably one partner.
//!
//! Input: the valid, id-sorted profiles. Output: [`Duplicates`]: the links found, each with
//! its evidence, and a group per partner (records linked directly or through others), so
//! that no two records of one group are proposed to each other (the `not_duplicates` rule)
//! and a registry keeper can merge them (`duplicates.csv`). Evidence, any of:
//! - the same name (folded: accents, case, punctuation and spacing ignored) in the same country;
//! - the same name within 1 km (the grid cells of 0.01° that reach 1 km, then the distance; at
//!   most 16 records of a name per cell are compared);
//! - the same contact email (case ignored).
//!
//! Time O(N) expected (hash maps), memory O(N); every link joins two groups, so at most
//! N − 1 links are listed however many records share a name.

use std::collections::hash_map::{Entry, HashMap};

use rayon::prelude::*;

use crate::engine::features::{distance_km, unit_vector};
use crate::engine::profile::Profile;
use crate::engine::reference::normalise_place;
use crate::PartnerIdx;

/// Two records linked as likely duplicates.
#[derive(Clone, Debug, PartialEq)]
pub struct DuplicateLink {
    /// The record with the smaller id.
    pub a: PartnerIdx,
    /// The other record.
    pub b: PartnerIdx,
    /// Why: "same name and country", "same name within 1 km" or "same contact email".
    pub evidence: &'static str,
}

/// The likely duplicates among the profiles.
#[derive(Clone, Debug, Default)]
pub struct Duplicates {
    /// The links that joined records into groups, in the order found.
    pub links: Vec<DuplicateLink>,
    /// Each record's group: the smallest index in it (a record alone is its own group).
    group: Vec<PartnerIdx>,
    /// Whether each record is in a group of two or more (an end of a link).
    grouped: Vec<bool>,
}

impl Duplicates {
    /// Whether the record is of no group of two or more: distinct from every other record.
    #[inline]
    pub fn alone(&self, a: PartnerIdx) -> bool {
        !self.grouped.get(a as usize).copied().unwrap_or(false)
    }

    /// The group (smallest index) of a record (itself, when none was searched).
    pub fn group_of(&self, a: PartnerIdx) -> PartnerIdx {
        if self.group.is_empty() {
            a
        } else {
            self.group[a as usize]
        }
    }

    /// Records that belong to a group of two or more.
    pub fn records(&self) -> usize {
        let mut sizes: HashMap<PartnerIdx, usize> = HashMap::new();
        for &g in &self.group {
            *sizes.entry(g).or_default() += 1;
        }
        sizes.values().filter(|&&n| n > 1).sum()
    }
}

/// Union-find over record indices, smallest index as root.
struct Groups(Vec<PartnerIdx>);

impl Groups {
    fn root(&mut self, mut i: PartnerIdx) -> PartnerIdx {
        while self.0[i as usize] != i {
            let parent = self.0[i as usize];
            self.0[i as usize] = self.0[parent as usize];
            i = parent;
        }
        i
    }

    /// Joins the groups of `a` and `b`; false when they were one already.
    fn join(&mut self, a: PartnerIdx, b: PartnerIdx) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return false;
        }
        let (low, high) = (ra.min(rb), ra.max(rb));
        self.0[high as usize] = low;
        true
    }
}

/// A name folded for comparison: "Ministry of Labour, Ghana" and "ministry of labour ghana"
/// are one.
fn fold_name(name: &str) -> String {
    normalise_place(&name.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect::<String>())
}

/// Records of one name kept per grid cell for the distance test: bounds the work where
/// thousands of records share a name and a place (they are linked by name and country anyway).
const PER_CELL: usize = 16;

/// Grid cells of 0.01° around a parallel (the last one, from 179.99° east, next to the first).
const LONGITUDE_CELLS: i32 = 36_000;

/// The cells east and west of a record's own that may hold a record within 1 km: a cell's
/// width shrinks with the cosine of the latitude (1.11 km at the equator, 0.56 km at 60°),
/// taken at the edge of the next row of cells, nearer the pole. Capped near the poles, where
/// every cell of the parallel is within reach.
fn longitude_reach(lat: f64) -> i32 {
    let nearest_pole = (lat.abs() + 0.01).min(90.0).to_radians().cos();
    let km_per_cell = 111.32 * 0.01 * nearest_pole;
    (1.0 / km_per_cell).ceil().min(f64::from(LONGITUDE_CELLS / 2)) as i32
}

/// Finds the likely duplicates among `profiles`.
pub fn likely_duplicates(profiles: &[Profile]) -> Duplicates {
    let mut groups = Groups((0..profiles.len() as PartnerIdx).collect());
    let mut links = Vec::new();
    let mut link = |groups: &mut Groups, a: PartnerIdx, b: PartnerIdx, evidence| {
        if groups.join(a, b) {
            links.push(DuplicateLink { a: a.min(b), b: a.max(b), evidence });
        }
    };
    // Names folded and emails lowered on the pool; then each folded name is numbered once, so
    // the maps of the loop hash numbers, not strings (at 1M the loop on one core, hashing a
    // name nine times per record with SipHash, was 2.7 s of the ingest stage's 8 to 10).
    let names: Vec<String> = profiles.par_iter().map(|p| fold_name(&p.name)).collect();
    let emails: Vec<Option<String>> = profiles.par_iter().map(|p| p.contact_email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty())).collect();
    let mut numbers: foldhash::HashMap<&str, u32> = foldhash::HashMap::with_capacity_and_hasher(profiles.len(), Default::default());
    let name_numbers: Vec<Option<u32>> = names
        .iter()
        .map(|name| {
            let next = numbers.len() as u32;
            (!name.is_empty()).then(|| *numbers.entry(name.as_str()).or_insert(next))
        })
        .collect();
    let mut by_country: foldhash::HashMap<(u32, u16), PartnerIdx> = foldhash::HashMap::default();
    let mut by_cell: foldhash::HashMap<(u32, i32, i32), Vec<PartnerIdx>> = foldhash::HashMap::default();
    let mut by_email: foldhash::HashMap<&str, PartnerIdx> = foldhash::HashMap::default();
    let cell = |p: &Profile| ((p.lat * 100.0).floor() as i32, (((p.lon + 180.0) * 100.0).floor() as i32).rem_euclid(LONGITUDE_CELLS));
    for (i, p) in profiles.iter().enumerate() {
        let Some(name) = name_numbers[i] else { continue };
        let i = i as PartnerIdx;
        match by_country.entry((name, p.country)) {
            Entry::Occupied(first) => link(&mut groups, *first.get(), i, "same name and country"),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
        let (y, x) = cell(p);
        let here = unit_vector(p.lat, p.lon);
        let reach = longitude_reach(p.lat);
        for (dy, dx) in (-1..=1).flat_map(|dy| (-reach..=reach).map(move |dx| (dy, dx))) {
            for &j in by_cell.get(&(name, y + dy, (x + dx).rem_euclid(LONGITUDE_CELLS))).map_or(&[][..], Vec::as_slice) {
                let other = &profiles[j as usize];
                if distance_km(&here, &unit_vector(other.lat, other.lon)) <= 1.0 {
                    link(&mut groups, j, i, "same name within 1 km");
                }
            }
        }
        let kept = by_cell.entry((name, y, x)).or_default();
        if kept.len() < PER_CELL {
            kept.push(i);
        }
    }
    for (i, email) in emails.iter().enumerate() {
        let Some(email) = email.as_deref() else { continue };
        match by_email.entry(email) {
            Entry::Occupied(first) => link(&mut groups, *first.get(), i as PartnerIdx, "same contact email"),
            Entry::Vacant(slot) => {
                slot.insert(i as PartnerIdx);
            }
        }
    }
    let group = (0..profiles.len() as PartnerIdx).map(|i| groups.root(i)).collect();
    let mut grouped = vec![false; profiles.len()];
    for link in &links {
        grouped[link.a as usize] = true;
        grouped[link.b as usize] = true;
    }
    Duplicates { links, group, grouped }
}
