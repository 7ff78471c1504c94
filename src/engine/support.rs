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
//! search engines prune posting lists). O(k) memory per partner in need, and one mark per
//! supporter per thread, in parallel.

use rayon::prelude::*;

use crate::engine::features::{kind, weighted_count, PartnerFeatures};
use crate::engine::profile::{IdSet, Profile};
use crate::engine::rank::top_k::{Hit, TopK};
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
    /// Per theme, the members (positions in `members`) that back it, ascending.
    backers: Vec<Vec<u32>>,
    /// The most the focus and capacity terms add to any member's funding term.
    most_besides_funding: f32,
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
            backers: vec![Vec::new(); 64],
            most_besides_funding: 0.0,
        };
        for (i, profile) in profiles.iter().enumerate() {
            let Some(role) = role_of(features, i) else { continue };
            let backs = if profile.funds.is_empty() { profile.offers } else { profile.funds };
            if features.active[i] && !backs.is_empty() {
                for theme in backs.iter() {
                    supporters.backers[theme as usize].push(supporters.members.len() as u32);
                }
                let besides_funding = SUPPORT_WEIGHTS[1] + SUPPORT_WEIGHTS[2] * capacity_term(profile);
                supporters.most_besides_funding = supporters.most_besides_funding.max(besides_funding);
                supporters.members.push(i as PartnerIdx);
                supporters.backs.push(backs);
                supporters.roles.push(role);
            }
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
        let focus = if profile.focus_countries.is_empty() && profile.focus_sub_regions.is_empty() { 0.5 } else { 1.0 };
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
        let focus = if supporter.focus_countries.is_empty() && supporter.focus_sub_regions.is_empty() {
            0.5
        } else if supporter.focus_countries.contains(&f.country[b]) || supporter.focus_sub_regions.contains(&f.sub_region[b]) {
            1.0
        } else {
            0.0
        };
        let raw = [funding, focus, capacity_term(supporter)];
        let contributions: [f32; 3] = std::array::from_fn(|t| SUPPORT_WEIGHTS[t] * raw[t]);
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
        for (visited, &theme) in needs.iter().enumerate() {
            // A supporter not scored yet backs none of the needs visited before this one.
            let left: f32 = needs[visited..].iter().map(|&t| weight(t)).sum();
            let most_unscored = SUPPORT_WEIGHTS[0] * left / f.need_mass[b] + self.most_besides_funding;
            // The margin covers float rounding: a score and its bound are summed differently.
            if top.kth().is_some_and(|kth| kth > most_unscored + 1e-4) {
                break;
            }
            for &at in &self.backers[theme as usize] {
                let at = at as usize;
                if std::mem::replace(&mut scored_for[at], needy) == needy {
                    continue;
                }
                let s = self.members[at];
                if let Some(support) = self.score(at, needy).filter(|_| admits(s, needy)) {
                    top.push(Hit { candidate: s, score: support.score });
                }
            }
        }
        top.into_sorted()
    }
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
