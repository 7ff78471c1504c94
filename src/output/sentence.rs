//! The plain reason sentence an outreach officer can paste into an email.
//!
//! Input: the two profiles and their [`PairExplanation`]. Output: one sentence: the modality,
//! then the matched offers and needs (the heart of a match) as the explanation's two theme
//! sets say them, which are also what its direction and offer columns say, then up to three
//! context reasons in order of their contribution to the score. Themes are written as action
//! phrases ("has experience in eliminating child labour", "seeks support on ending child
//! labour"), sectors and languages by their names, lists as people write them ("A, B and C"),
//! places as the truth allows ("in the same city", never "0 km"; no distance from a
//! country's centroid).

use std::fmt::{self, Display, Formatter, Write as _};

use crate::engine::profile::{IdSet, LocationSource, Profile};
use crate::engine::reference::Reference;
use crate::engine::score::{PairExplanation, Term};
use crate::engine::features::PartnerFeatures;
use crate::engine::modality::{Modality, TriangularDefinition};
use crate::engine::support::{Support, SupportRole};
use crate::engine::triads::Triad;

/// The reason sentence for `candidate` on `partner`'s shortlist.
pub fn reason(
    partner: &Profile,
    candidate: &Profile,
    explanation: &PairExplanation,
    reference: &Reference,
) -> String {
    // Written into one string through `Display`: a sentence built of `format!`ed pieces made
    // a dozen allocations per row, and rows are millions.
    PairReason { partner, candidate, explanation, reference }.to_string()
}

/// What [`reason`] says, written as it is displayed.
#[derive(Clone, Copy)]
struct PairReason<'a> {
    partner: &'a Profile,
    candidate: &'a Profile,
    explanation: &'a PairExplanation,
    reference: &'a Reference,
}

impl Display for PairReason<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let PairReason { partner, candidate, explanation, reference } = *self;
        let offered = |set: IdSet| Phrases(set, &reference.theme_offer_phrases);
        let needed = |set: IdSet| Phrases(set, &reference.theme_need_phrases);
        let (they, we) = (&candidate.name, &partner.name);
        let (theirs, ours) = (explanation.candidate_offers, explanation.partner_offers);
        write!(f, "{} match: ", UpperFirst(explanation.modality.describe()))?;
        match (theirs.is_empty(), ours.is_empty()) {
            (false, false) => write!(
                f,
                "{they} has experience in {}, on which {we} seeks support, and seeks support on {}, in which {we} has experience",
                offered(theirs),
                needed(ours)
            )?,
            (false, true) => write!(f, "{they} has experience in {}, on which {we} seeks support", offered(theirs))?,
            (true, false) => write!(f, "{they} seeks support on {}, in which {we} has experience", needed(ours))?,
            (true, true) => write!(f, "{they} and {we} work in similar contexts")?,
        }
        let context = self.context();
        if !context.is_empty() {
            f.write_str(", and they ")?;
            write_list(f, context.len(), context.iter().map(|(_, clause)| clause))?;
        }
        f.write_str(".")
    }
}

impl<'a> PairReason<'a> {
    /// Up to three context clauses, in order of their contribution to the score.
    fn context(&self) -> Vec<(f32, Clause<'a>)> {
        let PairReason { partner, candidate, explanation, reference } = *self;
        let mut context: Vec<(f32, Clause)> = Vec::new();
        let raw = |term: Term| explanation.raw[term as usize];
        let contribution = |term: Term| explanation.contributions[term as usize];
        if raw(Term::Geography) >= 0.3 {
            context.push((contribution(Term::Geography), Clause::Whereabouts(*self)));
        }
        let values_known = partner.values.iter().zip(&candidate.values).any(|(a, b)| a.is_some() && b.is_some());
        if values_known && raw(Term::Values) >= 0.75 {
            context.push((contribution(Term::Values), Clause::Values));
        }
        if !explanation.shared_sectors.is_empty() {
            context.push((contribution(Term::Sector), Clause::Sectors(explanation.shared_sectors, reference)));
        }
        if raw(Term::ActorType) >= 0.7 {
            let kind = |p: &Profile| reference.actor_nouns[p.actor_type as usize].as_str();
            let clause = if partner.actor_type == candidate.actor_type { Clause::Peers(kind(partner)) } else { Clause::Kinds(kind(partner), kind(candidate)) };
            context.push((contribution(Term::ActorType), clause));
        }
        let shared_language = partner
            .spoken_languages()
            .iter()
            .filter(|l| candidate.spoken_languages().contains(l))
            .find_map(|l| reference.language_names.get(l));
        if let Some(language) = shared_language {
            context.push((contribution(Term::Context), Clause::Language(language)));
        }
        context.sort_by(|a, b| b.0.total_cmp(&a.0));
        context.truncate(3);
        context
    }
}

/// A context clause of a reason, after "they".
enum Clause<'a> {
    /// Where the two of a pair are.
    Whereabouts(PairReason<'a>),
    Values,
    /// The sectors both work in.
    Sectors(IdSet, &'a Reference),
    /// Both are of this kind.
    Peers(&'a str),
    /// The partner's kind and the candidate's.
    Kinds(&'a str, &'a str),
    /// A language both speak, by its name.
    Language(&'a str),
}

impl Display for Clause<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self {
            Clause::Whereabouts(pair) => pair.write_whereabouts(f),
            Clause::Values => f.write_str("share closely aligned values"),
            Clause::Sectors(sectors, reference) => {
                f.write_str("both work in ")?;
                write_list(f, sectors.len() as usize, sectors.iter().map(|s| reference.sectors.label(s as usize)))
            }
            Clause::Peers(kind) => write!(f, "are peers of the same kind ({kind})"),
            Clause::Kinds(ours, theirs) => write!(f, "are of two kinds that often partner ({} and {})", WithArticle(ours), WithArticle(theirs)),
            Clause::Language(language) => write!(f, "share a language ({language})"),
        }
    }
}

/// The reason sentence for `supporter` on the resource list of `needy`: what it would fund
/// or facilitate that the partner seeks support on, and its focus where it includes the
/// partner ("UNDP facilitates work on social protection, on which the Ministry of Labour of
/// Ghana seeks support, with Ghana in its focus.").
pub fn support_reason(needy: &Profile, supporter: &Profile, support: &Support, reference: &Reference) -> String {
    let work = Phrases(support.backed_needs, &reference.theme_need_phrases);
    let (who, verb, whom) = (&supporter.name, support_verb(support.role), &needy.name);
    if support.raw[1] != 1.0 {
        return format!("{who} {verb} work on {work}, on which {whom} seeks support.");
    }
    let country = &reference.countries[needy.country as usize];
    let place = if supporter.focus_countries.contains(&needy.country) { &country.name } else { &reference.sub_regions[country.sub_region as usize] };
    format!("{who} {verb} work on {work}, on which {whom} seeks support, with {place} in its focus.")
}

/// The reason sentence of a triad, each member with its country unless it is one:
/// "Triangular (A): Lebanon has experience in labour migration, on which African Union
/// Commission (Ethiopia) seeks support, and Norad (Norway) funds work on labour migration."
pub fn triad_reason(triad: &Triad, features: &PartnerFeatures, profiles: &[Profile], definition: TriangularDefinition, reference: &Reference) -> String {
    let who = |i| with_country(&profiles[i as usize], reference);
    format!(
        "Triangular ({definition:?}): {} has experience in {}, on which {} seeks support, and {} {} work on {}.",
        who(triad.provider),
        Phrases(triad.needs_met(features), &reference.theme_offer_phrases),
        who(triad.beneficiary),
        who(triad.third),
        support_verb(triad.role),
        Phrases(triad.backed, &reference.theme_need_phrases),
    )
}

/// The reason sentence of a support proposal on its third's own list: "Triangular (A)
/// proposal: Norad (Norway) could fund Ministry of Labour (Ghana) to learn from ABC
/// (Brazil), which has experience in extending social protection, on which Ministry of
/// Labour seeks support."
pub fn proposal_reason(triad: &Triad, modality: Modality, profiles: &[Profile], definition: TriangularDefinition, reference: &Reference) -> String {
    let who = |i| with_country(&profiles[i as usize], reference);
    let label = match modality {
        Modality::Triangular => format!("Triangular ({definition:?})"),
        other => UpperFirst(other.describe()).to_string(),
    };
    let verb = match triad.role {
        SupportRole::Funder => "fund",
        SupportRole::Facilitator => "help",
    };
    format!(
        "{label} proposal: {} could {verb} {} to learn from {}, which has experience in {}, on which {} seeks support.",
        who(triad.third),
        who(triad.beneficiary),
        who(triad.provider),
        Phrases(triad.backed, &reference.theme_offer_phrases),
        profiles[triad.beneficiary as usize].name,
    )
}

/// A partner's name with its country, unless the name is the country's.
fn with_country(partner: &Profile, reference: &Reference) -> String {
    let country = &reference.countries[partner.country as usize].name;
    if &partner.name == country { partner.name.clone() } else { format!("{} ({country})", partner.name) }
}

/// What a supporter does, as a verb.
fn support_verb(role: SupportRole) -> &'static str {
    match role {
        SupportRole::Funder => "funds",
        SupportRole::Facilitator => "facilitates",
    }
}

impl PairReason<'_> {
    /// Where the two are, as a clause after "they": as precise as their locations allow.
    fn write_whereabouts(&self, f: &mut Formatter) -> fmt::Result {
        let PairReason { partner, candidate, explanation, reference } = *self;
        // A partner placed at its country's centroid has no distance worth telling.
        let approximate = [partner, candidate].iter().any(|p| p.location_source == LocationSource::Country);
        let country = |p: &Profile| reference.countries[p.country as usize].name.as_str();
        let distance = Distance(explanation.distance_km);
        if !explanation.cross_border {
            let same_city = match (&partner.city, &candidate.city) {
                (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
                _ => false,
            };
            return if approximate {
                write!(f, "are both in {}", country(partner))
            } else if same_city || explanation.distance_km < 1.0 {
                f.write_str("are in the same city")
            } else {
                write!(f, "are {distance} in {}", country(partner))
            };
        }
        let region = explanation
            .same_region
            .then(|| &reference.sub_regions[reference.countries[candidate.country as usize].sub_region as usize]);
        match (approximate, region) {
            (true, Some(region)) => write!(f, "are both in {region}"),
            (true, None) => write!(f, "are in {} and {}", country(candidate), country(partner)),
            (false, Some(region)) => write!(f, "are {distance} in {region}"),
            (false, None) => write!(f, "are {distance}"),
        }
    }
}

/// A distance as people say it: "less than 1 km apart", "5,920 km apart".
struct Distance(f32);

impl Display for Distance {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self.0 {
            d if d < 1.0 => f.write_str("less than 1 km apart"),
            d => write!(f, "{} km apart", Thousands(d.round() as u64)),
        }
    }
}

/// Text with its first letter upper-cased.
struct UpperFirst<'a>(&'a str);

impl Display for UpperFirst<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let mut chars = self.0.chars();
        match chars.next() {
            Some(first) => {
                first.to_uppercase().try_for_each(|c| f.write_char(c))?;
                f.write_str(chars.as_str())
            }
            None => Ok(()),
        }
    }
}

/// A noun with its article: "a company", "an academic institution", "a UN agency".
struct WithArticle<'a>(&'a str);

impl Display for WithArticle<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let noun = self.0;
        let vowel_sound = noun.starts_with(['a', 'e', 'i', 'o']) && !noun.starts_with("UN");
        write!(f, "{} {noun}", if vowel_sound { "an" } else { "a" })
    }
}

/// Every theme of a set by its phrase, as a list.
struct Phrases<'a>(IdSet, &'a [String]);

impl Display for Phrases<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let Phrases(set, phrases) = *self;
        write_list(f, set.len() as usize, set.iter().map(|t| &phrases[t as usize]))
    }
}

/// The `count` `items` as people list them: "a", "a and b", "a, b and c".
fn write_list<T: Display>(f: &mut Formatter, count: usize, items: impl Iterator<Item = T>) -> fmt::Result {
    for (i, item) in items.enumerate() {
        match i {
            0 => {}
            i if i + 1 == count => f.write_str(" and ")?,
            _ => f.write_str(", ")?,
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// A whole number with its thousands separated: "5,920".
struct Thousands(u64);

impl Display for Thousands {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self.0 {
            n if n >= 1000 => write!(f, "{},{:03}", Thousands(n / 1000), n % 1000),
            n => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_read_naturally() {
        struct List(&'static [&'static str]);
        impl Display for List {
            fn fmt(&self, f: &mut Formatter) -> fmt::Result {
                write_list(f, self.0.len(), self.0.iter())
            }
        }
        assert_eq!(List(&[]).to_string(), "");
        assert_eq!(List(&["a"]).to_string(), "a");
        assert_eq!(List(&["a", "b"]).to_string(), "a and b");
        assert_eq!(List(&["a", "b", "c"]).to_string(), "a, b and c");
        assert_eq!(List(&["a", "b", "c", "d"]).to_string(), "a, b, c and d");
        assert_eq!(Thousands(5920).to_string(), "5,920");
        assert_eq!(Thousands(1_000_005).to_string(), "1,000,005");
        assert_eq!(Thousands(0).to_string(), "0");
        assert_eq!(WithArticle("academic institution").to_string(), "an academic institution");
        assert_eq!(WithArticle("UN agency").to_string(), "a UN agency");
        assert_eq!(UpperFirst("south-South").to_string(), "South-South");
        assert_eq!(UpperFirst("").to_string(), "");
        assert_eq!(Thousands(999).to_string(), "999");
        assert_eq!(Thousands(1234567).to_string(), "1,234,567");
        assert_eq!(Distance(0.4).to_string(), "less than 1 km apart");
        assert_eq!(Distance(5919.6).to_string(), "5,920 km apart");
    }

    #[test]
    fn every_phrase_and_label_reads_as_words_in_a_list() {
        let r = Reference::builtin();
        let sectors = (0..r.sectors.len()).map(|i| r.sectors.label(i).to_string());
        for text in r.theme_offer_phrases.iter().chain(&r.theme_need_phrases).cloned().chain(sectors) {
            assert!(!text.contains([',', ';', '_']), "{text}");
            assert_eq!(text, text.to_lowercase().replace("hiv/aids", "HIV/AIDS"), "lower case but for acronyms");
        }
        let phrase = |id: &str, list: &[String]| list[r.themes.lookup(id).unwrap() as usize].clone();
        assert_eq!(phrase("child_labour", &r.theme_offer_phrases), "eliminating child labour");
        assert_eq!(phrase("forced_labour_trafficking", &r.theme_need_phrases), "ending forced labour and trafficking");
        assert_eq!(r.language_names["fr"], "French");
    }
}
