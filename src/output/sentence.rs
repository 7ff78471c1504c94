//! The plain reason sentence an outreach officer can paste into an email.
//!
//! Input: the two profiles and their [`PairExplanation`]. Output: one sentence naming the
//! matched offers and needs first (the heart of a match), then up to three context reasons
//! in order of their contribution to the score.

use crate::engine::profile::{IdSet, Profile};
use crate::engine::reference::{Reference, Vocabulary};
use crate::engine::score::{PairExplanation, Term};

/// The reason sentence for `candidate` on `partner`'s shortlist.
pub fn reason(
    partner: &Profile,
    candidate: &Profile,
    explanation: &PairExplanation,
    reference: &Reference,
) -> String {
    let themes = |set: IdSet| list(set, &reference.themes, 3);
    let (they, we) = (&candidate.name, &partner.name);
    let main = match (
        explanation.candidate_offers.is_empty(),
        explanation.partner_offers.is_empty(),
    ) {
        (false, false) => format!(
            "{they} offers {}, which {we} needs, and needs {}, which {we} offers",
            themes(explanation.candidate_offers),
            themes(explanation.partner_offers)
        ),
        (false, true) => format!(
            "{they} offers {}, which {we} needs",
            themes(explanation.candidate_offers)
        ),
        (true, false) => format!(
            "{they} needs {}, which {we} offers",
            themes(explanation.partner_offers)
        ),
        (true, true) => format!("{they} works in a similar context to {we}"),
    };
    let main = format!("{} match: {main}", upper_first(explanation.modality.describe()));

    let mut context: Vec<(f32, String)> = Vec::new();
    let raw = |term: Term| explanation.raw[term as usize];
    let contribution = |term: Term| explanation.contributions[term as usize];
    if raw(Term::Geography) >= 0.3 {
        let distance = format!("{} km apart", thousands(explanation.distance_km.round() as u64));
        let text = if explanation.same_region {
            let region = &reference.sub_regions[reference.countries[candidate.country as usize]
                .sub_region as usize];
            format!("both in {region}, {distance}")
        } else {
            distance
        };
        context.push((contribution(Term::Geography), text));
    }
    let values_known = partner.values.iter().zip(&candidate.values).any(|(a, b)| a.is_some() && b.is_some());
    if values_known && raw(Term::Values) >= 0.75 {
        context.push((contribution(Term::Values), "closely aligned values".into()));
    }
    if !explanation.shared_sectors.is_empty() {
        context.push((
            contribution(Term::Sector),
            format!("both work in {}", list(explanation.shared_sectors, &reference.sectors, 2)),
        ));
    }
    if raw(Term::ActorType) >= 0.7 {
        let kind = |p: &Profile| reference.actor_nouns[p.actor_type as usize].as_str();
        let text = if partner.actor_type == candidate.actor_type {
            format!("peers of the same kind ({})", kind(partner))
        } else {
            format!("{} and {} often partner", with_article(kind(partner)), with_article(kind(candidate)))
        };
        context.push((contribution(Term::ActorType), text));
    }
    if let Some(language) = partner.languages.iter().find(|l| candidate.languages.contains(l)) {
        context.push((contribution(Term::Context), format!("a shared language ({language})")));
    }
    context.sort_by(|a, b| b.0.total_cmp(&a.0));
    let reasons: Vec<String> = context.into_iter().take(3).map(|(_, text)| text).collect();
    if reasons.is_empty() {
        format!("{main}.")
    } else {
        format!("{main}; {}.", join(&reasons))
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

fn plain(id: &str) -> String {
    id.replace('_', " ")
}

/// Lower-cases a label's first letter unless its first word is an acronym ("HIV/AIDS").
fn lower_first(label: &str) -> String {
    let first_word = label.split(' ').next().unwrap_or_default();
    if first_word.chars().filter(|c| c.is_uppercase()).count() > 1 {
        return label.to_string();
    }
    let mut chars = label.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn list(set: IdSet, vocabulary: &Vocabulary, at_most: usize) -> String {
    let mut names: Vec<String> = set
        .iter()
        .take(at_most)
        .map(|i| lower_first(&plain(vocabulary.label(i as usize))))
        .collect();
    let rest = set.len() as usize - names.len();
    if rest > 0 {
        names.push(format!("{rest} more"));
    }
    // Labels contain "and" and commas themselves, so items are separated by semicolons.
    names.join("; ")
}

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
        assert_eq!(join(&["a".into(), "b".into(), "c".into()]), "a, b and c");
        assert_eq!(thousands(5920), "5,920");
        assert_eq!(lower_first("Social protection"), "social protection");
        assert_eq!(lower_first("HIV/AIDS at work"), "HIV/AIDS at work");
        assert_eq!(with_article("academic institution"), "an academic institution");
        assert_eq!(with_article("UN agency"), "a UN agency");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
