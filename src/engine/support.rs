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
//! Resource lists are exact and pruned, as a text search engine finds its best documents
//! (MaxScore): only a supporter that backs one of the partner's needs can score, so only the
//! needs' backers are read, from an index of the supporters by what they back: by theme,
//! and by two themes backed together (a supporter backing `b` themes is in `b(b+1)/2` lists
//! of it). Each backer is read in one list only, the one that decides how far its funding
//! can go. With the needs in a fixed order (heaviest, mostly the rarest, first), a backer of
//! one need only is read in that need's list, where its funding is known exactly; a backer
//! of several in the list of the first two it backs, and backs none of the needs between
//! them, so its funding is at most that of those two and of the needs after the second.
//! Each list's backers are in tiers by what their focus term can be for the partner
//! (focusing on its country or sub-region: 1; no focus declared: ½; a focus elsewhere: 0),
//! each tier sorted by capacity, the larger first, then by index, so a tier is left at the
//! first backer whose bound ranks after the list's `k`-th hit (the terms take few values,
//! so ties are many, and the bound breaks them by index as the ranking does).
//! The lists are read largest bound first; once the list holds `k` backers of the heavy
//! needs, the other lists are mostly left at their first backer. (With the needs' lists
//! alone, a backer met under the heaviest need had to be bounded as if it backed every
//! other need too: at 1M partners the lists read about every backer of every need.) A
//! supporter declaring a focus is in several tiers of a list, and marked once scored (with
//! the number of the list). O(k + needs²) memory per partner in need, and a mark array of
//! one entry per supporter per rayon job, in parallel.

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

/// One backer in a list of the index: the supporter, its position in `members`, and what its
/// score for a partner in need depends on, but for the focus, which its tier gives.
#[derive(Clone, Copy)]
struct Backer {
    supporter: PartnerIdx,
    at: u32,
    backs: IdSet,
    capacity_term: f32,
}

/// Backers of one theme and one focus tier, the largest capacity first, then by index: the
/// order in which backing the same needs ranks them.
#[derive(Clone, Default)]
struct Tier {
    backers: Vec<Backer>,
}

impl Tier {
    /// Sorts the backers pushed.
    fn seal(&mut self) {
        self.backers.sort_by(|x, y| y.capacity_term.total_cmp(&x.capacity_term).then(x.at.cmp(&y.at)));
    }
}

/// A list's backers (of a theme, or of two themes) in tiers by what their focus term can be
/// for a partner in need.
#[derive(Clone, Default)]
struct Backers {
    /// Those focusing on a country, by country: focus term 1 for a partner there.
    by_country: HashMap<u16, Tier>,
    /// Those focusing on a sub-region, by sub-region: focus term 1 for a partner there.
    by_sub_region: HashMap<u16, Tier>,
    /// Those with no declared focus: focus term ½ for everyone.
    unfocused: Tier,
    /// Those with a declared focus: focus term 0 for a partner outside it (the ones
    /// focusing on the partner are in one of the first two tiers as well).
    declared: Tier,
}

/// A tier's focus term for a partner in need.
#[derive(Clone, Copy, PartialEq)]
enum Focus {
    /// No focus declared: ½. A supporter of this tier is in no other tier of the theme.
    Unfocused,
    /// Focusing on the partner's country or sub-region: 1.
    Here,
    /// 0, unless the member focuses on the partner and is in a `Here` tier too.
    Declared,
}

impl Focus {
    /// The focus term a tier's bound uses: every member's, but a `Declared` one focusing here.
    fn bound(self) -> f32 {
        match self {
            Focus::Unfocused => 0.5,
            Focus::Here => 1.0,
            Focus::Declared => 0.0,
        }
    }
}

impl Backers {
    /// Adds `backer` (supporter `profile`) to the tiers its focus puts it in.
    fn push(&mut self, backer: Backer, profile: &Profile) {
        if declares_focus(profile) {
            self.declared.backers.push(backer);
            profile.focus_countries.iter().for_each(|&c| self.by_country.entry(c).or_default().backers.push(backer));
            profile.focus_sub_regions.iter().for_each(|&r| self.by_sub_region.entry(r).or_default().backers.push(backer));
        } else {
            self.unfocused.backers.push(backer);
        }
    }

    /// Sorts every tier's backers.
    fn seal(&mut self) {
        self.by_country.values_mut().chain(self.by_sub_region.values_mut()).for_each(Tier::seal);
        self.unfocused.seal();
        self.declared.seal();
    }

    /// The tiers for a partner in `country` and `sub_region`, with their focus term there.
    fn tiers(&self, country: u16, sub_region: u16) -> [(Option<&Tier>, Focus); 4] {
        [
            (self.by_country.get(&country), Focus::Here),
            (self.by_sub_region.get(&sub_region), Focus::Here),
            (Some(&self.unfocused), Focus::Unfocused),
            (Some(&self.declared), Focus::Declared),
        ]
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
    /// The index, by [`list_key`]: per theme, the members that back it, and per two themes,
    /// the members that back both, in tiers.
    backers: Vec<Backers>,
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
        Self::among(profiles, features, |_| true)
    }

    /// The same supporters, those that `keep` only (a triangular definition's thirds, say):
    /// a search of these reads none of the others.
    pub fn only(&self, keep: impl Fn(PartnerIdx) -> bool) -> Self {
        Self::among(self.profiles, self.features, |i| keep(i as PartnerIdx))
    }

    /// The active supporters of the partners that `keep`.
    fn among(profiles: &'a [Profile], features: &'a PartnerFeatures, keep: impl Fn(usize) -> bool) -> Self {
        let mut supporters = Supporters {
            profiles,
            features,
            members: Vec::new(),
            backs: Vec::new(),
            roles: Vec::new(),
            backers: vec![Backers::default(); 64 * 64],
        };
        for (i, profile) in profiles.iter().enumerate() {
            let Some(role) = role_of(features, i) else { continue };
            let backs = if profile.funds.is_empty() { profile.offers } else { profile.funds };
            if features.active[i] && !backs.is_empty() && keep(i) {
                let backer = Backer { supporter: i as PartnerIdx, at: supporters.members.len() as u32, backs, capacity_term: capacity_term(profile) };
                for second in backs.iter() {
                    for first in backs.iter().take_while(|&first| first <= second) {
                        supporters.backers[list_key(first, second)].push(backer, profile);
                    }
                }
                supporters.members.push(i as PartnerIdx);
                supporters.backs.push(backs);
                supporters.roles.push(role);
            }
        }
        supporters.backers.iter_mut().for_each(Backers::seal);
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
        score_of([1.0, focus, capacity_term(profile)])
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
        Some(Support { score: score_of(raw), raw, contributions: contributions(raw), backed_needs, role: self.roles[at] })
    }

    /// For every partner of `needy` its best `k` supporters, best first (ties by supporter
    /// index), among those whose link `admits(supporter, partner)` (the run's rules for a
    /// supporting link: not itself, not a record of the same partner, not an excluded pair).
    /// The same lists for any thread count.
    pub fn resource_lists(&self, needy: &[PartnerIdx], k: usize, admits: &(dyn Fn(PartnerIdx, PartnerIdx) -> bool + Sync)) -> Vec<Vec<Hit>> {
        if k == 0 {
            return vec![Vec::new(); needy.len()];
        }
        needy.par_iter().map_init(|| Marks { scored_in: vec![0; self.members.len()], lists: 0 }, |marks, &b| self.best(b, k, admits, marks)).collect()
    }

    /// The best `k` supporters of `needy` (see the module header for the pruning), marking
    /// in `marks` the members declaring a focus once scored.
    fn best(&self, needy: PartnerIdx, k: usize, admits: &(dyn Fn(PartnerIdx, PartnerIdx) -> bool + Sync), marks: &mut Marks) -> Vec<Hit> {
        marks.lists += 1;
        let list = marks.lists;
        let f = self.features;
        let (b, needs) = (needy as usize, f.needs[needy as usize]);
        // Funding as `score` computes it; over a larger set of backed themes it is no smaller.
        let funding = |backs: IdSet| weighted_count(backs.intersection(needs), &f.theme_weight) / f.need_mass[b];
        let mut top = TopK::new(k);
        for read in reads(needs, &f.theme_weight, funding) {
            for (tier, focus) in self.backers[read.key].tiers(f.country[b], f.sub_region[b]) {
                for backer in tier.map_or(&[][..], |tier| &tier.backers) {
                    let bound = Hit { candidate: backer.supporter, score: score_of([read.most, focus.bound(), backer.capacity_term]) };
                    // The backers left have a smaller capacity term, or the same and a larger index.
                    if top.kth_hit().is_some_and(|kth| ranking_order(&bound, &kth) == Ordering::Greater) {
                        break;
                    }
                    let (member, s) = (backer.at as usize, backer.supporter);
                    let read_here = backer.backs.intersection(read.among) == read.backs;
                    if !read_here || s == needy || (focus != Focus::Unfocused && std::mem::replace(&mut marks.scored_in[member], list) == list) {
                        continue;
                    }
                    let score = match focus {
                        Focus::Unfocused | Focus::Here => score_of([funding(backer.backs), focus.bound(), backer.capacity_term]),
                        Focus::Declared => self.score(member, needy).map_or(0.0, |support| support.score),
                    };
                    let hit = Hit { candidate: s, score };
                    if top.kth_hit().is_none_or(|kth| ranking_order(&hit, &kth) == Ordering::Less) && admits(s, needy) {
                        top.push(hit);
                    }
                }
            }
        }
        top.into_sorted()
    }
}

/// The index position of the backers of `first` and `second` (`first <= second`; the same
/// theme twice: the backers of that theme).
fn list_key(first: u8, second: u8) -> usize {
    usize::from(first) * 64 + usize::from(second)
}

/// One list of the index read for a partner in need, and which of its backers are read there.
struct Read {
    key: usize,
    /// The needs a backer read here backs among `among`.
    backs: IdSet,
    among: IdSet,
    /// The most funding a backer read here can bring.
    most: f32,
}

/// The lists read for a partner with `needs` (see the module header), largest bound first:
/// with the needs heaviest first (ties: the smaller theme first), each need alone, for a
/// backer of no other need; and each two needs, for a backer of both and of no need between
/// them, whose funding is at most that of the two and of the needs after them.
fn reads(needs: IdSet, weight: &[f32; 64], funding: impl Fn(IdSet) -> f32) -> Vec<Read> {
    let mut order: Vec<u8> = needs.iter().collect();
    order.sort_by(|&x, &y| weight[y as usize].total_cmp(&weight[x as usize]).then(x.cmp(&y)));
    let mut reads = Vec::with_capacity(order.len() * (order.len() + 1) / 2);
    let mut before = IdSet::EMPTY;
    for &second in &order {
        let alone = IdSet(1 << second);
        let through = before.union(alone);
        let after = IdSet(needs.0 & !through.0);
        reads.push(Read { key: list_key(second, second), backs: alone, among: needs, most: funding(alone) });
        for first in before.iter() {
            let both = IdSet(alone.0 | 1 << first);
            reads.push(Read { key: list_key(first.min(second), first.max(second)), backs: both, among: through, most: funding(both.union(after)) });
        }
        before = through;
    }
    reads.sort_by(|x, y| y.most.total_cmp(&x.most));
    reads
}

/// Which list each supporter was last scored in, for those declaring a focus (in several tiers
/// of a list of the index): one per thread's share of the work, the lists it made numbered
/// from 1.
struct Marks {
    scored_in: Vec<u32>,
    lists: u32,
}

/// The weighted contributions of raw support terms.
fn contributions(raw: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|t| SUPPORT_WEIGHTS[t] * raw[t])
}

/// The support score of raw terms: the sum of their contributions, in order. Larger raw
/// terms never give a smaller score, in floating point too, so a bound computed from larger
/// terms is exact.
fn score_of(raw: [f32; 3]) -> Score {
    contributions(raw).iter().sum()
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
