//! Support: how well a funder or facilitator could back a partner's needs, the third side of
//! triangular cooperation, as its own relation beside the pair score.
//!
//! Input: the profiles and their [`PartnerFeatures`]. Output: the [`Support`] of a
//! (supporter, partner in need) pair, with named terms like the pair score, and for every
//! active partner with a declared need that takes the beneficiary role its best supporters
//! ([`Supporters::resource_lists`]).
//!
//! A supporter is an active partner with the `funder` role (or a donor): role `funder`; or
//! with the `facilitator` role: role `facilitator`. What it backs is its `funds` column; one
//! without `funds` backs its `offers` (the manifest counts them). Funders are not only
//! northern: every supporter is admitted, and the triangular definition decides only the
//! modality label of a result.
//!
//! | term | value in [0, 1] |
//! |---|---|
//! | `funding` | rarity-weighted share of the partner's needs the supporter backs (as need coverage counts offers) |
//! | `focus` | 1 when the partner's country or sub-region is in the supporter's declared focus (`focus_countries`, `focus_regions`), 0 when the declared focus leaves it out, ½ when none is declared |
//! | `capacity` | min(capacity, 10) / 10 of the supporter; ½ when not declared |
//!
//! Score = 0.7·funding + 0.2·focus + 0.1·capacity, the sum of its contributions; a pair whose
//! `funding` is 0 is no support.
//!
//! Resource lists are exact and pruned: only a supporter that backs one of the partner's
//! needs can score, so each need's backers (an index by theme) are visited, the heaviest
//! (rarest) need first; once the list's `k`-th score beats what a supporter backing none of
//! the needs visited so far could reach (0.7 × the share of the needs left, plus the most
//! focus and capacity add), the common needs' long lists are never read (MaxScore, as text
//! search engines prune posting lists). Within a need, its backers are read in tiers by what
//! their focus term can be for the partner (focusing on its country or sub-region: 1; no
//! focus declared: ½; a focus elsewhere: 0), each tier by capacity, highest first, and a tier
//! is left as soon as its bound falls below the `k`-th score. O(k) memory per partner in
//! need, and one mark per supporter per thread, in parallel.

use std::cmp::Ordering;
use std::collections::HashMap;

use rayon::prelude::*;

use crate::engine::features::{kind, weighted_count, PartnerFeatures};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::top_k::{ranking_order, Hit, TopK};
use crate::{PartnerIdx, Score};

/// Names of the support terms, in order.
pub const SUPPORT_TERMS: [&str; 3] = ["funding", "focus", "capacity"];
/// Their weights, in the same order.
pub const SUPPORT_WEIGHTS: [f32; 3] = [0.7, 0.2, 0.1];

/// How a supporter supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupportRole {
    /// Funds what it backs.
    Funder,
    /// Facilitates what it backs (city networks, enabling partners, UN agencies).
    Facilitator,
}

impl SupportRole {
    /// The output spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportRole::Funder => "funder",
            SupportRole::Facilitator => "facilitator",
        }
    }

    /// The `direction` of a support proposal on the supporter's own list.
    pub fn direction(self) -> &'static str {
        match self {
            SupportRole::Funder => "partner_funds",
            SupportRole::Facilitator => "partner_facilitates",
        }
    }
}

/// Whether a shortlist row's `direction` is a support proposal's.
pub fn is_proposal(direction: &str) -> bool {
    [SupportRole::Funder, SupportRole::Facilitator].iter().any(|role| role.direction() == direction)
}

/// Why a supporter scored what it did for a partner in need.
#[derive(Clone, Debug, PartialEq)]
pub struct Support {
    /// The score, the sum of `contributions`.
    pub score: Score,
    /// Raw term values, in [`SUPPORT_TERMS`] order.
    pub raw: [f32; 3],
    /// Weighted contributions.
    pub contributions: [f32; 3],
    /// The partner's needs the supporter backs.
    pub backed_needs: IdSet,
    /// Funder or facilitator.
    pub role: SupportRole,
}

/// A theme's backers (positions in `members`) in tiers by what their focus term can be for
/// a partner in need, each tier by capacity term, highest first (ties by position): the
/// order in which [`Supporters::best`] reads them, so that it can stop at a bound.
#[derive(Clone, Default)]
struct Backers {
    /// Those focusing on a country, by country: focus term 1 for a partner there.
    by_country: HashMap<u16, Vec<u32>>,
    /// Those focusing on a sub-region, by sub-region: focus term 1 for a partner there.
    by_sub_region: HashMap<u16, Vec<u32>>,
    /// Those with no declared focus: focus term ½ for everyone.
    unfocused: Vec<u32>,
    /// Those with a declared focus: focus term 0 for a partner outside it.
    declared: Vec<u32>,
}

impl Backers {
    /// The tiers for a partner in `country` and `sub_region`, each with the most its focus
    /// term can be there (a supporter focusing there is read before it is met again among
    /// the declared, where its bound says 0: by then it is scored, or below the k-th).
    fn tiers(&self, country: u16, sub_region: u16) -> [(&[u32], f32); 4] {
        let in_country = self.by_country.get(&country).map_or(&[][..], Vec::as_slice);
        let in_sub_region = self.by_sub_region.get(&sub_region).map_or(&[][..], Vec::as_slice);
        [(in_country, 1.0), (in_sub_region, 1.0), (&self.unfocused, 0.5), (&self.declared, 0.0)]
    }
}

/// The supporters among the profiles, with what each backs.
pub struct Supporters<'a> {
    profiles: &'a [Profile],
    features: &'a PartnerFeatures,
    /// Supporter indices, ascending.
    members: Vec<PartnerIdx>,
    /// What each member backs.
    backs: Vec<IdSet>,
    /// Each member's role.
    roles: Vec<SupportRole>,
    /// Per theme, the members (positions in `members`) that back it, in tiers.
    backers: Vec<Backers>,
    /// Each member's capacity term.
    capacity_terms: Vec<f32>,
    /// The largest capacity term of any member.
    most_capacity_term: f32,
}

impl<'a> Supporters<'a> {
    /// The partners of `candidates` a resource list is made for: active, taking the
    /// beneficiary role, with a declared need.
    pub fn in_need(&self, candidates: &[PartnerIdx]) -> Vec<PartnerIdx> {
        let f = self.features;
        candidates.iter().copied().filter(|&b| f.active[b as usize] && f.can_benefit[b as usize] && !f.needs[b as usize].is_empty()).collect()
    }

    /// Finds the active supporters.
    pub fn new(profiles: &'a [Profile], features: &'a PartnerFeatures) -> Self {
        let mut supporters = Supporters {
            profiles,
            features,
            members: Vec::new(),
            backs: Vec::new(),
            roles: Vec::new(),
            backers: vec![Backers::default(); 64],
            capacity_terms: Vec::new(),
            most_capacity_term: 0.0,
        };
        for (i, profile) in profiles.iter().enumerate() {
            let Some(role) = role_of(features, i) else { continue };
            let backs = if profile.funds.is_empty() { profile.offers } else { profile.funds };
            if features.active[i] && !backs.is_empty() {
                let at = supporters.members.len() as u32;
                for theme in backs.iter() {
                    let backers = &mut supporters.backers[theme as usize];
                    if declares_focus(profile) {
                        backers.declared.push(at);
                        profile.focus_countries.iter().for_each(|&c| backers.by_country.entry(c).or_default().push(at));
                        profile.focus_sub_regions.iter().for_each(|&r| backers.by_sub_region.entry(r).or_default().push(at));
                    } else {
                        backers.unfocused.push(at);
                    }
                }
                supporters.most_capacity_term = supporters.most_capacity_term.max(capacity_term(profile));
                supporters.members.push(i as PartnerIdx);
                supporters.backs.push(backs);
                supporters.roles.push(role);
                supporters.capacity_terms.push(capacity_term(profile));
            }
        }
        let terms = &supporters.capacity_terms;
        let by_capacity = |list: &mut Vec<u32>| list.sort_by(|&x, &y| terms[y as usize].total_cmp(&terms[x as usize]).then(x.cmp(&y)));
        for backers in &mut supporters.backers {
            backers.by_country.values_mut().chain(backers.by_sub_region.values_mut()).for_each(by_capacity);
            by_capacity(&mut backers.unfocused);
            by_capacity(&mut backers.declared);
        }
        supporters
    }

    /// Number of supporters.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there is no supporter.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The features the supporters were found in.
    pub fn features(&self) -> &'a PartnerFeatures {
        self.features
    }

    /// The capacity `partner` declares (how many partnerships it can take on), if any.
    pub fn capacity(&self, partner: PartnerIdx) -> Option<u32> {
        self.profiles[partner as usize].capacity
    }

    /// What `partner` backs: its `funds`, else its `offers`; empty when it is no supporter.
    pub fn backs(&self, partner: PartnerIdx) -> IdSet {
        self.members.binary_search(&partner).map_or(IdSet::default(), |at| self.backs[at])
    }

    /// The most `supporter`'s support for any partner can be: every need backed, the
    /// partner in its focus.
    pub fn most_support(&self, supporter: PartnerIdx) -> f32 {
        let profile = &self.profiles[supporter as usize];
        let focus = if declares_focus(profile) { 1.0 } else { 0.5 };
        SUPPORT_WEIGHTS[0] + SUPPORT_WEIGHTS[1] * focus + SUPPORT_WEIGHTS[2] * capacity_term(profile)
    }

    /// The supporters that take no other role (neither provider nor beneficiary), such as
    /// donors: their own shortlist is what they could support.
    pub fn supporting_only(&self) -> Vec<PartnerIdx> {
        let f = self.features;
        self.members.iter().copied().filter(|&s| !f.can_provide[s as usize] && !f.can_benefit[s as usize]).collect()
    }

    /// How many supporters back their `offers` for want of a `funds` column.
    pub fn backing_offers(&self) -> usize {
        self.members.iter().filter(|&&s| self.profiles[s as usize].funds.is_empty()).count()
    }

    /// The support of `supporter` for `needy`, when `supporter` is one and backs a need of
    /// `needy`.
    pub fn support(&self, supporter: PartnerIdx, needy: PartnerIdx) -> Option<Support> {
        let at = self.members.binary_search(&supporter).ok()?;
        self.score(at, needy)
    }

    fn score(&self, at: usize, needy: PartnerIdx) -> Option<Support> {
        let f = self.features;
        let (s, b) = (self.members[at] as usize, needy as usize);
        let backed_needs = self.backs[at].intersection(f.needs[b]);
        if backed_needs.is_empty() || s == b {
            return None;
        }
        let supporter = &self.profiles[s];
        let funding = weighted_count(backed_needs, &f.theme_weight) / f.need_mass[b];
        let focus = if !declares_focus(supporter) {
            0.5
        } else if supporter.focus_countries.contains(&f.country[b]) || supporter.focus_sub_regions.contains(&f.sub_region[b]) {
            1.0
        } else {
            0.0
        };
        let raw = [funding, focus, capacity_term(supporter)];
        let contributions = contributions(raw);
        Some(Support { score: contributions.iter().sum(), raw, contributions, backed_needs, role: self.roles[at] })
    }

    /// For every partner of `needy` its best `k` supporters, best first (ties by supporter
    /// index), among those whose link `admits(supporter, partner)` (the run's rules for a
    /// supporting link: not itself, not a record of the same partner, not an excluded pair).
    /// The same lists for any thread count.
    pub fn resource_lists(&self, needy: &[PartnerIdx], k: usize, admits: &(dyn Fn(PartnerIdx, PartnerIdx) -> bool + Sync)) -> Vec<Vec<Hit>> {
        needy
            .par_iter()
            .map_init(|| vec![PartnerIdx::MAX; self.members.len()], |scored_for, &b| self.best(b, k, admits, scored_for))
            .collect()
    }

    /// The best `k` supporters of `needy` (see the module header for the pruning);
    /// `scored_for[m]` is the partner member `m` was last scored for.
    fn best(&self, needy: PartnerIdx, k: usize, admits: &(dyn Fn(PartnerIdx, PartnerIdx) -> bool + Sync), scored_for: &mut [PartnerIdx]) -> Vec<Hit> {
        let f = self.features;
        let b = needy as usize;
        let weight = |t: u8| f.theme_weight[t as usize];
        let mut needs: Vec<u8> = f.needs[b].iter().collect();
        needs.sort_by(|&x, &y| weight(y).total_cmp(&weight(x)).then(x.cmp(&y)));
        let mut top = TopK::new(k);
        let mut left = f.needs[b];
        for &theme in &needs {
            // A supporter not scored yet backs none of the needs visited before this one, or
            // ranks below the k-th already (a tier read before was left above it). Its
            // funding is at most the share of the needs left, computed as its own would be
            // (a sum over fewer of the same positive weights is no larger), so the bounds
            // are exact in floating point and a tie is settled by index, as the ranking does.
            let most_funding = weighted_count(left, &f.theme_weight) / f.need_mass[b];
            left.remove(theme);
            let bound = |focus: f32, capacity: f32| contributions([most_funding, focus, capacity]).iter().sum();
            if top.kth().is_some_and(|kth| kth > bound(1.0, self.most_capacity_term)) {
                break;
            }
            for (tier, focus) in self.backers[theme as usize].tiers(f.country[b], f.sub_region[b]) {
                for &at in tier {
                    let at = at as usize;
                    let best_possible = Hit { candidate: self.members[at], score: bound(focus, self.capacity_terms[at]) };
                    if top.kth_hit().is_some_and(|kth| ranking_order(&best_possible, &kth) == Ordering::Greater) {
                        break;
                    }
                    if std::mem::replace(&mut scored_for[at], needy) == needy {
                        continue;
                    }
                    let s = self.members[at];
                    if let Some(support) = self.score(at, needy).filter(|_| admits(s, needy)) {
                        top.push(Hit { candidate: s, score: support.score });
                    }
                }
            }
        }
        top.into_sorted()
    }
}

/// The weighted contributions of raw support terms (the score is their sum, in order).
fn contributions(raw: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|t| SUPPORT_WEIGHTS[t] * raw[t])
}

/// Whether a supporter declares a focus (countries or sub-regions).
fn declares_focus(supporter: &Profile) -> bool {
    !supporter.focus_countries.is_empty() || !supporter.focus_sub_regions.is_empty()
}

/// The capacity term of a supporter: min(capacity, 10) / 10; ½ when not declared.
fn capacity_term(supporter: &Profile) -> f32 {
    supporter.capacity.map_or(0.5, |c| c.min(10) as f32 / 10.0)
}

/// The supporting role partner `i` takes, if any (a funder when it takes both).
pub fn role_of(f: &PartnerFeatures, i: usize) -> Option<SupportRole> {
    if f.kind[i] & kind::FUNDER != 0 {
        Some(SupportRole::Funder)
    } else if f.kind[i] & kind::FACILITATOR != 0 {
        Some(SupportRole::Facilitator)
    } else {
        None
    }
}
