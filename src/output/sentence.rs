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
    let offered = |set: IdSet| phrases(set, &reference.theme_offer_phrases);
    let needed = |set: IdSet| phrases(set, &reference.theme_need_phrases);
    let (they, we) = (&candidate.name, &partner.name);
    let (theirs, ours) = (explanation.candidate_offers, explanation.partner_offers);
    let main = match (theirs.is_empty(), ours.is_empty()) {
        (false, false) => format!(
            "{they} has experience in {}, on which {we} seeks support, and seeks support on {}, in which {we} has experience",
            offered(theirs),
            needed(ours)
        ),
        (false, true) => format!("{they} has experience in {}, on which {we} seeks support", offered(theirs)),
        (true, false) => format!("{they} seeks support on {}, in which {we} has experience", needed(ours)),
        (true, true) => format!("{they} and {we} work in similar contexts"),
    };
    let main = format!("{} match: {main}", upper_first(explanation.modality.describe()));

    let mut context: Vec<(f32, String)> = Vec::new();
    let raw = |term: Term| explanation.raw[term as usize];
    let contribution = |term: Term| explanation.contributions[term as usize];
    if raw(Term::Geography) >= 0.3 {
        context.push((contribution(Term::Geography), whereabouts(partner, candidate, explanation, reference)));
    }
    let values_known = partner.values.iter().zip(&candidate.values).any(|(a, b)| a.is_some() && b.is_some());
    if values_known && raw(Term::Values) >= 0.75 {
        context.push((contribution(Term::Values), "share closely aligned values".into()));
    }
    if !explanation.shared_sectors.is_empty() {
        let sectors: Vec<String> =
            explanation.shared_sectors.iter().map(|s| reference.sectors.label(s as usize).to_string()).collect();
        context.push((contribution(Term::Sector), format!("both work in {}", join(&sectors))));
    }
    if raw(Term::ActorType) >= 0.7 {
        let kind = |p: &Profile| reference.actor_nouns[p.actor_type as usize].as_str();
        let text = if partner.actor_type == candidate.actor_type {
            format!("are peers of the same kind ({})", kind(partner))
        } else {
            format!("are of two kinds that often partner ({} and {})", with_article(kind(partner)), with_article(kind(candidate)))
        };
        context.push((contribution(Term::ActorType), text));
    }
    let shared_language = partner
        .spoken_languages()
        .iter()
        .filter(|l| candidate.spoken_languages().contains(l))
        .find_map(|l| reference.language_names.get(l));
    if let Some(language) = shared_language {
        context.push((contribution(Term::Context), format!("share a language ({language})")));
    }
    context.sort_by(|a, b| b.0.total_cmp(&a.0));
    let reasons: Vec<String> = context.into_iter().take(3).map(|(_, text)| text).collect();
    if reasons.is_empty() {
        format!("{main}.")
    } else {
        format!("{main}, and they {}.", join(&reasons))
    }
}

/// The reason sentence for `supporter` on the resource list of `needy`: what it would fund
/// or facilitate that the partner seeks support on, and its focus where it includes the
/// partner ("UNDP facilitates work on social protection, on which the Ministry of Labour of
/// Ghana seeks support, with Ghana in its focus.").
pub fn support_reason(needy: &Profile, supporter: &Profile, support: &Support, reference: &Reference) -> String {
    let work = phrases(support.backed_needs, &reference.theme_need_phrases);
    let mut text = format!("{} {} work on {work}, on which {} seeks support", supporter.name, support_verb(support.role), needy.name);
    if support.raw[1] == 1.0 {
        let country = &reference.countries[needy.country as usize];
        let place = if supporter.focus_countries.contains(&needy.country) { &country.name } else { &reference.sub_regions[country.sub_region as usize] };
        text.push_str(&format!(", with {place} in its focus"));
    }
    text.push('.');
    text
}

/// The reason sentence of a triad, each member with its country unless it is one:
/// "Triangular (A): Lebanon has experience in labour migration, on which African Union
/// Commission (Ethiopia) seeks support, and Norad (Norway) funds work on labour migration."
pub fn triad_reason(triad: &Triad, features: &PartnerFeatures, profiles: &[Profile], definition: TriangularDefinition, reference: &Reference) -> String {
    let who = |i| with_country(&profiles[i as usize], reference);
    format!(
        "Triangular ({definition:?}): {} has experience in {}, on which {} seeks support, and {} {} work on {}.",
        who(triad.provider),
        phrases(triad.needs_met(features), &reference.theme_offer_phrases),
        who(triad.beneficiary),
        who(triad.third),
        support_verb(triad.role),
        phrases(triad.backed, &reference.theme_need_phrases),
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
        other => upper_first(other.describe()),
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
        phrases(triad.backed, &reference.theme_offer_phrases),
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

/// Where the two are, as a clause after "they": as precise as their locations allow.
fn whereabouts(partner: &Profile, candidate: &Profile, explanation: &PairExplanation, reference: &Reference) -> String {
    // A partner placed at its country's centroid has no distance worth telling.
    let approximate = [partner, candidate].iter().any(|p| p.location_source == LocationSource::Country);
    let country = |p: &Profile| reference.countries[p.country as usize].name.as_str();
    let distance = match explanation.distance_km {
        d if d < 1.0 => "less than 1 km apart".to_string(),
        d => format!("{} km apart", thousands(d.round() as u64)),
    };
    if !explanation.cross_border {
        let same_city = match (&partner.city, &candidate.city) {
            (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
            _ => false,
        };
        return if approximate {
            format!("are both in {}", country(partner))
        } else if same_city || explanation.distance_km < 1.0 {
            "are in the same city".into()
        } else {
            format!("are {distance} in {}", country(partner))
        };
    }
    let region = explanation
        .same_region
        .then(|| &reference.sub_regions[reference.countries[candidate.country as usize].sub_region as usize]);
    match (approximate, region) {
        (true, Some(region)) => format!("are both in {region}"),
        (true, None) => format!("are in {} and {}", country(candidate), country(partner)),
        (false, Some(region)) => format!("are {distance} in {region}"),
        (false, None) => format!("are {distance}"),
    }
}

fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// "a company", "an academic institution", "a UN agency".
fn with_article(noun: &str) -> String {
    let vowel_sound = noun.starts_with(['a', 'e', 'i', 'o']) && !noun.starts_with("UN");
    format!("{} {noun}", if vowel_sound { "an" } else { "a" })
}

/// Every theme of `set` by its phrase, joined as a list.
fn phrases(set: IdSet, phrases: &[String]) -> String {
    join(&set.iter().map(|t| phrases[t as usize].clone()).collect::<Vec<_>>())
}

/// "a", "a and b", "a, b and c".
fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_read_naturally() {
        assert_eq!(join(&["a".into()]), "a");
        assert_eq!(join(&["a".into(), "b".into()]), "a and b");
        assert_eq!(join(&["a".into(), "b".into(), "c".into()]), "a, b and c");
        assert_eq!(thousands(5920), "5,920");
        assert_eq!(with_article("academic institution"), "an academic institution");
        assert_eq!(with_article("UN agency"), "a UN agency");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
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
