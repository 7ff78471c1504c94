//! The report's explorer: every list of a run inside the page, compact, rendered on demand.
//!
//! Input: the run's shortlist, resource and triad rows and, with `--previous`, the previous
//! night's lists. Output: the HTML of the explorer section (search and filter form, partner
//! list, partner view) followed by its data in inert `<script>` elements: `explorer-meta`
//! (JSON: vocabularies, term names and weights, chunk size) and gzip-compressed,
//! base64-encoded JSON blocks: `partners`, the index (one entry per partner: id, name,
//! country, actor type, contact, modalities of its rows, whether its list changed), and
//! `chunk-N`, the lists of [`CHUNK`] partners each (shortlist rows with their previous rank,
//! candidates that left, resources, triads). `explorer.js` unpacks the index when the page
//! opens and a chunk when one of its partners is shown (the browser's `DecompressionStream`),
//! and builds the DOM with `textContent` only: no profile text is ever parsed as HTML.
//!
//! A sentence is stored with the names it mentions replaced by U+0001, U+0002, U+0003 and
//! the vocabulary phrases in it by private-use characters (the page puts them back): they
//! are most of a sentence's length, and of the time gzip spends on a 100k report.

use std::collections::BTreeSet;
use std::io::Write as _;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use flate2::write::GzEncoder;
use flate2::Compression;
use foldhash::{HashMap, HashSet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::engine::reference::Reference;
use crate::engine::score::{Term, TERM_COUNT};
use crate::engine::support::{SUPPORT_TERMS, SUPPORT_WEIGHTS};
use crate::io::manifest::RunManifest;
use crate::io::run_dir::{Lists, ResourceRow, ShortlistRow, TriadRow};

/// Partners per data chunk: a chunk is unpacked in milliseconds when one of them is shown.
const CHUNK: usize = 500;

/// Placeholders for the names a sentence mentions, in the order they are given.
const NAME_TOKENS: [char; 3] = ['\u{1}', '\u{2}', '\u{3}'];

/// The first of the characters (Unicode's private use area) that stand for phrases.
const FIRST_PHRASE_TOKEN: u32 = 0xE000;

/// A character that may stand for a name or a phrase in a stored sentence.
fn is_token(c: char) -> bool {
    NAME_TOKENS.contains(&c) || ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// The page's script: search, filters, paging, the partner view.
const SCRIPT: &str = include_str!("explorer.js");

/// The vocabulary's phrases that sentences are made of (theme phrases and labels, sectors,
/// countries, regions), each stored as one private-use character: most of a sentence's
/// length, and the report's compression time with it.
struct Phrases {
    list: Vec<String>,
    tokens: Vec<String>,
    finder: AhoCorasick,
}

impl Phrases {
    fn new(reference: &Reference) -> Phrases {
        let themes = (0..reference.themes.len()).map(|t| reference.themes.label(t).to_string());
        let sectors = (0..reference.sectors.len()).map(|s| reference.sectors.label(s).to_string());
        let countries = reference.countries.iter().map(|c| c.name.clone());
        let words: BTreeSet<String> = reference
            .theme_offer_phrases
            .iter()
            .chain(&reference.theme_need_phrases)
            .chain(&reference.sub_regions)
            .cloned()
            .chain(themes)
            .chain(sectors)
            .chain(countries)
            .filter(|p| p.len() > 4 && !p.chars().any(is_token))
            .collect();
        let list: Vec<String> = words.into_iter().collect();
        let tokens = (0..list.len() as u32).map(|i| char::from_u32(FIRST_PHRASE_TOKEN + i).expect("fewer phrases than private-use characters").to_string()).collect();
        let finder = AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&list).expect("phrases build an automaton");
        Phrases { list, tokens, finder }
    }
}

/// `text` with every `name` (not empty) replaced by `token`: `str::replace`, without the
/// substring searcher's set-up, which costs more than the search on a short sentence.
fn replace(text: &str, name: &str, token: char) -> String {
    let (bytes, needle) = (text.as_bytes(), name.as_bytes());
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(offset) = memchr::memchr(needle[0], &bytes[from..]) {
        // A match starts on the first byte of a character, so the slices stay on boundaries.
        let start = from + offset;
        if bytes[start..].starts_with(needle) {
            out.push_str(&text[copied..start]);
            out.push(token);
            copied = start + needle.len();
            from = copied;
        } else {
            from = start + 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A sentence as stored: with its names replaced by [`NAME_TOKENS`] and then its phrases by
/// theirs, or verbatim (in a one-element array) when a token character is already in the
/// sentence or a name.
#[derive(Serialize)]
#[serde(untagged)]
enum Sentence {
    Compact(String),
    Verbatim([String; 1]),
}

impl Sentence {
    fn new(sentence: &str, names: &[&str], phrases: &Phrases) -> Sentence {
        if sentence.chars().any(is_token) || names.iter().any(|n| n.is_empty() || n.chars().any(is_token)) {
            return Sentence::Verbatim([sentence.to_string()]);
        }
        let mut compact = sentence.to_string();
        for (name, token) in names.iter().zip(NAME_TOKENS) {
            compact = replace(&compact, name, token);
        }
        Sentence::Compact(phrases.finder.replace_all(&compact, &phrases.tokens))
    }
}

/// A score in thousandths: what the page prints, three decimals.
fn milli(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

/// A term's contribution in hundredths: what its bar and label need.
fn centi(value: f64) -> i64 {
    (value * 100.0).round() as i64
}

/// One partner of the index, as the page lists it.
#[derive(Default)]
struct Partner<'a> {
    id: &'a str,
    name: &'a str,
    country: &'a str,
    actor_type: &'a str,
    contact_name: Option<&'a str>,
    contact_email: Option<&'a str>,
}

/// Everyone the run's tables name, by id; the first table that gives a field provides it.
#[derive(Default)]
struct Index<'a> {
    partners: HashMap<&'a str, Partner<'a>>,
}

impl<'a> Index<'a> {
    fn note(&mut self, id: &'a str, name: &'a str, country: &'a str, actor_type: &'a str, contact: (Option<&'a str>, Option<&'a str>)) {
        let entry = self.partners.entry(id).or_insert_with(|| Partner { id, name, country, ..Partner::default() });
        if entry.actor_type.is_empty() {
            entry.actor_type = actor_type;
        }
        if entry.contact_name.is_none() && entry.contact_email.is_none() {
            (entry.contact_name, entry.contact_email) = contact;
        }
    }
}

/// Position of each value in the sorted vocabulary of the values seen.
fn positions<'a>(values: impl Iterator<Item = &'a str>) -> (Vec<&'a str>, HashMap<&'a str, usize>) {
    let mut list: Vec<&str> = values.collect::<HashSet<_>>().into_iter().collect();
    list.sort_unstable();
    let at = list.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    (list, at)
}

/// A triad: beneficiary, provider, third, score, the third's role, sentence.
#[derive(Serialize)]
struct TriadEntry(usize, usize, usize, i64, usize, Sentence);

/// A candidate that left the list since the previous night: its id and its old rank.
#[derive(Serialize)]
struct LeftEntry<'a>(&'a str, u32);

/// What one partner's view shows, as positions in the run's tables.
#[derive(Default)]
struct PartnerLists<'a> {
    /// Its shortlist rows, in rank order.
    candidates: Vec<usize>,
    left: Vec<LeftEntry<'a>>,
    /// Its resource rows, in rank order.
    resources: Vec<usize>,
    /// The triads it is in.
    triads: Vec<usize>,
}

impl PartnerLists<'_> {
    fn is_empty(&self) -> bool {
        self.candidates.is_empty() && self.left.is_empty() && self.resources.is_empty() && self.triads.is_empty()
    }
}

/// Rows of one kind (shortlist or resources), column by column: columns compress better
/// than rows.
#[derive(Serialize, Default)]
struct Rows {
    candidate: Vec<usize>,
    score: Vec<i64>,
    /// One column per term, in hundredths.
    terms: Vec<Vec<i64>>,
    /// The direction (shortlist) or role (resources), as a position in its vocabulary.
    kind: Vec<usize>,
    modality: Vec<usize>,
    reason: Vec<Sentence>,
}

impl Rows {
    fn new(terms: usize) -> Rows {
        Rows { terms: vec![Vec::new(); terms], ..Rows::default() }
    }

    fn push(&mut self, candidate: usize, score: f64, terms: &[f64], kind: usize, modality: usize, reason: Sentence) {
        self.candidate.push(candidate);
        self.score.push(milli(score));
        for (column, &t) in self.terms.iter_mut().zip(terms) {
            column.push(centi(t));
        }
        self.kind.push(kind);
        self.modality.push(modality);
        self.reason.push(reason);
    }
}

/// One chunk: the partners with something to show and how many rows of each kind each has,
/// then the rows of all of them in that order, and the triads they are in (so a chunk
/// stands alone).
#[derive(Serialize)]
struct Chunk<'a> {
    partners: Vec<usize>,
    /// Per partner: candidates, candidates that left, resources, triads.
    counts: Vec<[usize; 4]>,
    shortlist: Rows,
    /// Per shortlist row, the rank on the previous night (`null`: new tonight, or no
    /// previous night given).
    previous: Vec<Option<u32>>,
    left: Vec<&'a LeftEntry<'a>>,
    resources: Rows,
    /// Per partner's triads, positions in `triads`.
    partner_triads: Vec<usize>,
    triads: Vec<&'a TriadEntry>,
}

/// Everything a chunk is built from.
struct Layout<'a> {
    tables: &'a Tables<'a>,
    partners: Vec<Partner<'a>>,
    at: HashMap<&'a str, usize>,
    modality_at: HashMap<&'a str, usize>,
    direction_at: HashMap<&'a str, usize>,
    role_at: HashMap<&'a str, usize>,
    triads: Vec<TriadEntry>,
    phrases: Phrases,
    /// Per shortlist row, the candidate's rank on the previous night (empty without one).
    previous_ranks: Vec<Option<u32>>,
}

impl Layout<'_> {
    fn name(&self, id: &str) -> &str {
        self.partners[self.at[id]].name
    }

    /// The chunk of the partners from `first` on.
    fn chunk<'c>(&'c self, first: usize, lists: &'c [PartnerLists]) -> Chunk<'c> {
        let mut chunk = Chunk {
            partners: Vec::new(),
            counts: Vec::new(),
            shortlist: Rows::new(TERM_COUNT),
            previous: Vec::new(),
            left: Vec::new(),
            resources: Rows::new(SUPPORT_TERMS.len()),
            partner_triads: Vec::new(),
            triads: Vec::new(),
        };
        let mut own: Vec<usize> = lists.iter().flat_map(|l| l.triads.iter().copied()).collect();
        own.sort_unstable();
        own.dedup();
        let local: HashMap<usize, usize> = own.iter().enumerate().map(|(j, &t)| (t, j)).collect();
        chunk.triads = own.iter().map(|&t| &self.triads[t]).collect();
        for (i, l) in lists.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            chunk.partners.push(first + i);
            chunk.counts.push([l.candidates.len(), l.left.len(), l.resources.len(), l.triads.len()]);
            for &row in &l.candidates {
                let r = &self.tables.shortlist[row];
                let reason = Sentence::new(r.reason, &[self.name(r.candidate_id), self.name(r.partner_id)], &self.phrases);
                chunk.shortlist.push(self.at[r.candidate_id], r.score, &r.terms, self.direction_at[r.direction], self.modality_at[r.modality], reason);
                chunk.previous.push(self.previous_ranks.get(row).copied().flatten());
            }
            chunk.left.extend(&l.left);
            for r in l.resources.iter().map(|&row| &self.tables.resources.unwrap_or_default()[row]) {
                let reason = Sentence::new(r.reason, &[self.name(r.candidate_id), self.name(r.partner_id)], &self.phrases);
                chunk.resources.push(self.at[r.candidate_id], r.score, &r.terms, self.role_at[r.role], self.modality_at[r.modality], reason);
            }
            chunk.partner_triads.extend(l.triads.iter().map(|t| local[t]));
        }
        chunk
    }
}

/// The run's tables, as the explorer reads them.
pub struct Tables<'a> {
    /// The shortlist.
    pub shortlist: &'a [ShortlistRow<'a>],
    /// The resource lists, when the run wrote them.
    pub resources: Option<&'a [ResourceRow<'a>]>,
    /// The triads, when the run wrote them.
    pub triads: Option<&'a [TriadRow<'a>]>,
    /// The previous night's lists, with `--previous`.
    pub previous: Option<&'a Lists>,
}

/// Gzip, then base64: a block the page unpacks with `DecompressionStream("gzip")`. Level 4:
/// at 100,000 partners 37 MB in 1.9 s of compression against level 6's 32 MB in 4.5 s.
fn pack(json: &[u8]) -> String {
    let mut encoder = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::new(4));
    encoder.write_all(json).expect("writing to memory");
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().expect("writing to memory"))
}

/// JSON that may sit inside a `<script>` element: no `<` at all (only strings can hold one).
fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("report data serialises").replace('<', "\\u003c")
}

/// The explorer section and its data.
pub fn section(tables: &Tables, manifest: &RunManifest, reference: &Reference) -> String {
    let resources = tables.resources.unwrap_or_default();
    let triads = tables.triads.unwrap_or_default();
    let mut index = Index::default();
    for r in tables.shortlist {
        let partner_contact = (r.partner_contact_name, r.partner_contact_email);
        index.note(r.partner_id, r.partner_name, r.partner_country, r.partner_actor_type, partner_contact);
        let candidate_contact = (r.candidate_contact_name, r.candidate_contact_email);
        index.note(r.candidate_id, r.candidate_name, r.candidate_country, r.candidate_actor_type, candidate_contact);
    }
    for r in resources {
        index.note(r.partner_id, r.partner_name, r.partner_country, r.partner_actor_type, (r.partner_contact_name, r.partner_contact_email));
        let contact = (r.candidate_contact_name, r.candidate_contact_email);
        index.note(r.candidate_id, r.candidate_name, r.candidate_country, r.candidate_actor_type, contact);
    }
    for member in triads.iter().flat_map(|t| [&t.beneficiary, &t.provider, &t.third]) {
        index.note(member.id, member.name, member.country, "", (None, None));
    }
    // Listed by name, as people look for them.
    let mut partners: Vec<Partner> = index.partners.into_values().collect();
    partners.sort_by_cached_key(|p| (p.name.to_lowercase(), p.id));
    let at: HashMap<&str, usize> = partners.iter().enumerate().map(|(i, p)| (p.id, i)).collect();

    let mut lists: Vec<PartnerLists> = (0..partners.len()).map(|_| PartnerLists::default()).collect();
    let mut partner_modalities: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); partners.len()];
    for (i, r) in tables.shortlist.iter().enumerate() {
        let p = at[r.partner_id];
        lists[p].candidates.push(i);
        partner_modalities[p].insert(r.modality);
    }
    for (i, r) in resources.iter().enumerate() {
        let p = at[r.partner_id];
        lists[p].resources.push(i);
        partner_modalities[p].insert(r.modality);
    }
    // With a previous night, a list that is new tonight has changed too.
    let mut changed: Vec<bool> = lists.iter().map(|l| tables.previous.is_some() && !l.candidates.is_empty()).collect();
    let mut previous_ranks = vec![None; if tables.previous.is_some() { tables.shortlist.len() } else { 0 }];
    for (partner, old) in tables.previous.into_iter().flatten() {
        let Some(&p) = at.get(partner.as_str()) else { continue };
        let list = &mut lists[p];
        for &row in &list.candidates {
            previous_ranks[row] = old.get(tables.shortlist[row].candidate_id).copied();
        }
        let tonight: HashMap<&str, u32> = list.candidates.iter().map(|&r| (tables.shortlist[r].candidate_id, tables.shortlist[r].rank)).collect();
        list.left = old.iter().filter(|(c, _)| !tonight.contains_key(c.as_str())).map(|(c, &rank)| LeftEntry(c, rank)).collect();
        list.left.sort_by_key(|left| left.1);
        changed[p] = !list.left.is_empty() || old.len() != tonight.len() || old.iter().any(|(c, rank)| tonight.get(c.as_str()) != Some(rank));
    }
    let (roles, role_at) = positions(resources.iter().map(|r| r.role).chain(triads.iter().map(|t| t.third_role)));
    let phrases = Phrases::new(reference);
    let triad_entries: Vec<TriadEntry> = triads
        .iter()
        .map(|t| {
            let members = [at[t.beneficiary.id], at[t.provider.id], at[t.third.id]];
            let sentence = Sentence::new(t.reason, &members.map(|m| partners[m].name), &phrases);
            TriadEntry(members[0], members[1], members[2], milli(t.score), role_at[t.third_role], sentence)
        })
        .collect();
    for (i, t) in triad_entries.iter().enumerate() {
        for member in BTreeSet::from([t.0, t.1, t.2]) {
            lists[member].triads.push(i);
        }
    }
    let (modalities, modality_at) = positions(tables.shortlist.iter().map(|r| r.modality).chain(resources.iter().map(|r| r.modality)));
    let (directions, direction_at) = positions(tables.shortlist.iter().map(|r| r.direction));

    let (countries, country_at) = positions(partners.iter().map(|p| p.country));
    let country_names: Vec<(&str, &str)> = countries.iter().map(|&iso3| (iso3, reference.country(iso3).map_or(iso3, |c| reference.countries[c as usize].name.as_str()))).collect();
    let (actor_types, actor_at) = positions(partners.iter().map(|p| p.actor_type));
    let actor_labels: Vec<(&str, &str)> = actor_types.iter().map(|&id| (id, reference.actor_types.lookup(id).map_or(id, |a| reference.actor_types.label(a as usize)))).collect();
    let index_rows: Vec<serde_json::Value> = partners
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let modalities: Vec<usize> = partner_modalities[i].iter().map(|m| modality_at[m]).collect();
            json!([p.id, p.name, country_at[p.country], actor_at[p.actor_type], p.contact_name, p.contact_email, modalities, changed[i], !lists[i].is_empty()])
        })
        .collect();
    let weights = manifest.config.matching.weights;
    let meta = json!({
        "chunk": CHUNK,
        "countries": country_names,
        "actorTypes": actor_labels,
        "modalities": modalities,
        "directions": directions,
        "roles": roles,
        "terms": Term::ALL.iter().map(|t| t.name()).collect::<Vec<_>>(),
        "weights": Term::ALL.iter().map(|&t| weights.0[t as usize]).collect::<Vec<_>>(),
        "supportTerms": SUPPORT_TERMS,
        "supportWeights": SUPPORT_WEIGHTS,
        "previous": tables.previous.is_some(),
        "resources": tables.resources.is_some(),
        "triads": tables.triads.is_some(),
        "tokens": NAME_TOKENS.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "phrases": phrases.list,
    });
    let layout = Layout { tables, partners, at, modality_at, direction_at, role_at, triads: triad_entries, phrases, previous_ranks };
    let chunks: Vec<String> = lists
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, lists)| pack(&serde_json::to_vec(&layout.chunk(c * CHUNK, lists)).expect("report data serialises")))
        .collect();

    let mut html = String::from(
        r#"<section id="explorer"><h2>Lists</h2>
<form id="filters" role="search" onsubmit="return false"><input id="search" type="search" placeholder="partner name or id" aria-label="partner name or id" autocomplete="off">
<select id="country" aria-label="country"><option value="">every country</option></select>
<select id="actor-type" aria-label="actor type"><option value="">every actor type</option></select>
<select id="modality" aria-label="modality"><option value="">every modality</option></select>
<label><input id="changed-only" type="checkbox"> changed since the previous night</label></form>
<p id="match-count">Loading the lists…</p><ol id="partner-list"></ol>
<nav id="pager"><button id="previous-page" type="button">previous</button> <button id="next-page" type="button">next</button></nav>
<div id="partner-view"></div>
<noscript><p>The lists need JavaScript; shortlist.csv, resources.csv and triads.csv hold the same rows.</p></noscript>
</section>
"#,
    );
    html.push_str(&format!(r#"<script type="application/json" id="explorer-meta">{}</script>"#, script_json(&meta)));
    html.push_str(&format!(r#"<script type="application/octet-stream" id="partners">{}</script>"#, pack(&serde_json::to_vec(&index_rows).expect("report data serialises"))));
    for (i, chunk) in chunks.iter().enumerate() {
        html.push_str(&format!(r#"<script type="application/octet-stream" id="chunk-{i}">{chunk}</script>"#));
    }
    html.push_str(&format!("<script>{SCRIPT}</script>"));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the page does: each phrase token back to its phrase, then each name token back
    /// to its name, last name first.
    fn expand(compact: &str, names: &[&str], phrases: &Phrases) -> String {
        let mut text: String = compact
            .chars()
            .map(|c| match (c as u32).checked_sub(FIRST_PHRASE_TOKEN) {
                Some(i) if is_token(c) => phrases.list[i as usize].clone(),
                _ => c.to_string(),
            })
            .collect();
        for (name, token) in names.iter().zip(NAME_TOKENS).rev() {
            text = text.replace(token, name);
        }
        text
    }

    #[test]
    fn compact_sentences_expand_to_the_sentence() {
        let cases: [(&str, &[&str]); 6] = [
            ("Union A offers training, which Union AB needs.", &["Union AB", "Union A"]),
            ("Union A offers training, which Union AB needs.", &["Union A", "Union AB"]),
            ("Ana meets Ana and Bo.", &["Ana", "Bo", "Ana"]),
            ("Cité de Thiès helps Dakar", &["Dakar", "Cité de Thiès"]),
            ("Ghana Union has experience in eliminating child labour, on which Ministry of Labour of Ghana seeks support, in Western Africa and Ghana.", &["Ghana Union", "Ministry of Labour of Ghana"]),
            ("Senegal's ministry has experience in social protection floors in Senegal.", &["Senegal's ministry", "Senegal"]),
        ];
        let phrases = Phrases::new(Reference::builtin());
        for (sentence, names) in cases {
            match Sentence::new(sentence, names, &phrases) {
                Sentence::Compact(c) => {
                    assert!(c.len() < sentence.len(), "{c:?}");
                    assert_eq!(expand(&c, names, &phrases), sentence);
                }
                Sentence::Verbatim(_) => panic!("{sentence} should compact"),
            }
        }
    }

    #[test]
    fn a_sentence_holding_a_token_character_stays_verbatim() {
        let phrases = Phrases::new(Reference::builtin());
        assert!(matches!(Sentence::new("A\u{1} helps B", &["A", "B"], &phrases), Sentence::Verbatim(_)));
        assert!(matches!(Sentence::new("A helps B", &["A\u{2}", "B"], &phrases), Sentence::Verbatim(_)));
        assert!(matches!(Sentence::new("A \u{E001} helps B", &["A", "B"], &phrases), Sentence::Verbatim(_)));
        assert!(matches!(Sentence::new("A helps B", &["", "B"], &phrases), Sentence::Verbatim(_)));
    }

    #[test]
    fn the_script_never_closes_its_element_early() {
        assert!(!SCRIPT.to_lowercase().contains("</script"));
    }

    #[test]
    fn script_json_never_closes_its_element() {
        let text = script_json(&json!(["</script><script>alert(1)</script>"]));
        assert!(!text.contains('<'));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()[0], "</script><script>alert(1)</script>");
    }
}
