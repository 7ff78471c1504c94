//! Properties that hold for any input:
//! 1. the outputs are byte-identical for `--threads 1` and `--threads 2`, and for the same
//!    input with its rows shuffled;
//! 2. every score equals the sum of its `term_*` columns (1e-6);
//! 3. every term is symmetric: terms(i, j) == terms(j, i) bit for bit;
//! 4. the ranked lists and their pair counts equal a sort-everything oracle (proptest over
//!    generated populations), for all partners and for the active ones (scored pairwise);
//! 5. the tile kernel of the ranking loop scores exactly like the pair scorer (compiled for
//!    every instruction set the processor runs), applies the same rules, and its bound (which lets it skip geography) is never below the score;
//! 6. the score bound between two groups (blocked mode: a partner or a batch of partners
//!    against a block of candidates) is never below the score of a pair across them;
//! 7. blocked mode without a probe limit gives the oracle's lists too (part of 4), scoring
//!    no more pairs than the exhaustive scan;
//! 8. a scan around some partners (an incremental night's fresh ones) gives them the
//!    oracle's lists, and every other partner what makes the oracle's list once merged
//!    with its best among the others (as an incremental night merges them), at 1 and 2
//!    threads.

mod util;

use std::sync::Arc;

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use sstc_match::config::weights::default_weights;
use sstc_match::engine::features::{distance_km, unit_vector, FeatureSettings, PartnerFeatures, OTHER_LANGUAGES};
use sstc_match::engine::profile::Profile;
use sstc_match::engine::ingest::{ingest, likely_duplicates, Duplicates};
use sstc_match::engine::candidates::Blocks;
use sstc_match::engine::cluster;
use sstc_match::engine::rank::{top_k::ranking_order, Candidates, Hit, Scan};
use sstc_match::engine::reference::Reference;
use sstc_match::engine::support::SUPPORT_TERMS;
use sstc_match::engine::modality::{Modality, TriangularDefinition};
use sstc_match::engine::rules::{ModalityFilter, RuleSet};
use sstc_match::engine::score::bound::{GroupSummary, SummaryColumns};
use sstc_match::engine::score::columns::{Columns, TILE};
use sstc_match::engine::score::kernel::{Kernel, Reach, Tile};
use sstc_match::engine::score::query::Query;
use sstc_match::engine::score::simd::Simd;
use sstc_match::engine::score::{MutualRule, ScoreSettings, Scorer, Weights, TERM_COUNT};
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::{code, generated, stderr, Csv, Dir};

use sstc_match::config::default_score_settings as settings;

fn run_job(dir: &Dir, profiles: &str, out: &str, threads: &str) {
    let output = dir.run(&[
        "run", "--profiles", profiles, "--out", out, "--threads", threads, "-q",
    ]);
    assert!(code(&output) <= 1, "{}", stderr(&output));
}

fn same_files(dir: &Dir, a: &str, b: &str) {
    // The shortlist holds the donors' support proposals; resources and triads are written by every run.
    for file in ["shortlist.csv", "shortlist.parquet", "clusters.csv", "rejects.csv", "duplicates.csv", "resources.csv", "resources.parquet", "triads.csv", "triads.parquet"] {
        let left = std::fs::read(dir.path(a).join(file)).unwrap();
        let right = std::fs::read(dir.path(b).join(file)).unwrap();
        assert!(left == right, "{file} differs between {a} and {b}");
    }
}

#[test]
fn outputs_are_identical_across_thread_counts_and_row_order() {
    let dir = Dir::new();
    let input = generated(&dir, 700, 3);
    run_job(&dir, input.to_str().unwrap(), "t1", "1");
    run_job(&dir, input.to_str().unwrap(), "t2", "2");
    same_files(&dir, "t1", "t2");

    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.shuffle(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11));
    let shuffled = dir.write("shuffled.csv", &format!("{header}\n{}\n", lines.join("\n")));
    run_job(&dir, shuffled.to_str().unwrap(), "shuffled", "2");
    same_files(&dir, "t1", "shuffled");
}

#[test]
fn every_score_is_the_sum_of_its_terms() {
    let dir = Dir::new();
    let input = generated(&dir, 400, 4);
    run_job(&dir, input.to_str().unwrap(), "out", "2");
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let terms: Vec<String> = shortlist
        .table
        .column_names()
        .iter()
        .filter(|c| c.starts_with("term_"))
        .cloned()
        .collect();
    // The pair terms, then the support terms of a donor's support proposals.
    assert_eq!(terms.len(), TERM_COUNT + SUPPORT_TERMS.len());
    assert!(shortlist.len() > 3000);
    for row in 0..shortlist.len() {
        let score: f64 = shortlist.get(row, "score").parse().unwrap();
        let sum: f64 = terms.iter().map(|t| shortlist.get(row, t).parse::<f64>().unwrap()).sum();
        assert!((score - sum).abs() <= 1e-6, "row {row}: score {score} vs sum {sum}");
    }
}

fn features_of(dir: &Dir, n: usize, seed: u64) -> (PartnerFeatures, Arc<Duplicates>) {
    features_with(dir, n, seed, |_| {})
}

/// The features of a generated population, and its likely duplicates (the generator repeats
/// names such as "City of X" within a country).
fn features_with(dir: &Dir, n: usize, seed: u64, edit: impl FnOnce(&mut [Profile])) -> (PartnerFeatures, Arc<Duplicates>) {
    let input = generated(dir, n, seed);
    let mut profiles = ingest(&TableSource::File(input), Reference::builtin()).unwrap().profiles;
    edit(&mut profiles);
    let duplicates = likely_duplicates(&profiles);
    let features = PartnerFeatures::build(&profiles, &duplicates, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() });
    (features, Arc::new(duplicates))
}

/// Records 3m and 3m + 1 (m odd) share a contact email, so they are likely duplicates,
/// in groups of two and, where the generator repeats a name too, more.
fn share_contact_emails(profiles: &mut [Profile]) {
    for i in (3..profiles.len() - 1).step_by(6) {
        profiles[i + 1].contact_email = profiles[i].contact_email.clone();
    }
}

/// Every other partner speaks two languages drawn from all the reference's, far more than the
/// 63 with bits of their own: the kernel's language test takes both of its paths.
fn speak_many_languages(profiles: &mut [Profile]) {
    let mut codes: Vec<&String> = Reference::builtin().countries.iter().flat_map(|c| &c.languages).collect();
    codes.sort();
    codes.dedup();
    assert!(codes.len() > 100);
    for (i, profile) in profiles.iter_mut().enumerate().step_by(2) {
        profile.languages = vec![codes[i * 7 % codes.len()].clone(), codes[i * 13 % codes.len()].clone()];
    }
}

#[test]
fn every_term_is_symmetric() {
    let dir = Dir::new();
    let (features, _) = features_of(&dir, 300, 6);
    let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(default_weights()));
    let n = features.len() as PartnerIdx;
    for i in 0..n {
        for j in (0..n).step_by(7) {
            assert_eq!(scorer.terms(i, j), scorer.terms(j, i), "pair ({i}, {j})");
        }
    }
}

#[test]
fn tile_kernel_equals_the_pair_scorer_and_bounds_it() {
    let dir = Dir::new();
    let (features, duplicates) = features_with(&dir, 300, 8, |profiles| {
        speak_many_languages(profiles);
        share_contact_emails(profiles);
    });
    assert!(duplicates.links.len() > 50, "{} duplicate links: the not_duplicates rule's column form is tested", duplicates.links.len());
    let rare = features.language_bits.iter().filter(|&&bits| bits & OTHER_LANGUAGES != 0).count();
    assert!(rare > 50 && rare < 250, "{rare} of 300 partners speak a language without a bit");
    let compatibility = &Reference::builtin().actor_compatibility;
    let rules = RuleSet::new(&duplicates, &[], None, None);
    let mut tile = Box::<Tile>::default();
    let mut removed = vec![0u64; rules.len()];
    let (mut pruned_at_half, mut scored) = (0, 0);
    let (mut marked_high, mut positions_high) = (0, 0);
    let instruction_sets: Vec<Simd> = Simd::ALL.iter().copied().filter(|s| s.is_supported()).collect();
    for mutual in MutualRule::ALL {
        for weights in [default_weights(), Weights([0.1, 0.9, 0.0, 2.0, 0.3, 0.0, 0.7])] {
            let scorer = Scorer::new(&features, compatibility, ScoreSettings { weights, mutual, ..settings(weights) });
            let columns = Columns::in_index_order(&scorer);
            // Every instruction set the processor runs, with every mutual rule, each set on a
            // share of the partners.
            let kernels: Vec<Kernel> = instruction_sets.iter().map(|&simd| Kernel::new(&scorer, &rules, &columns).with_simd(simd)).collect();
            for i in (0..features.len() as PartnerIdx).step_by(3) {
                let kernel = &kernels[i as usize / 3 % kernels.len()];
                let query = Query::new(&scorer, i);
                // Tiles that start anywhere, including a short last one.
                for start in (0..columns.len()).step_by(97) {
                    let len = TILE.min(columns.len() - start).min(97);
                    let no_floor = Reach::One(f32::NEG_INFINITY);
                    kernel.score_tile(&query, start..start + len, no_floor, &mut tile, &mut removed);
                    let admitted: Vec<usize> = tile.marked().collect();
                    assert_eq!(tile.admitted_count(), admitted.len() as u64);
                    // Marks against two lists' floors: the partner's, and another per position.
                    let others: Vec<f32> = (0..len).map(|o| if o % 3 == 0 { 0.3 } else { f32::INFINITY }).collect();
                    kernel.score_tile(&query, start..start + len, Reach::Both(0.5, &others), &mut tile, &mut removed);
                    let reaching: Vec<usize> = (0..len).filter(|&o| tile.reaches(o, others[o].min(0.5))).collect();
                    assert_eq!(tile.marked().collect::<Vec<usize>>(), reaching, "marks of partner {i} from {start}");
                    for o in 0..len {
                        let j = (start + o) as PartnerIdx;
                        assert_eq!(admitted.contains(&o), rules.first_refusal(&features, i, j).is_none(), "rules on ({i}, {j})");
                        if !admitted.contains(&o) {
                            continue;
                        }
                        let exact = scorer.score(i, j);
                        let (score, terms) = kernel.exact(&tile, &query, o);
                        assert_eq!(score.to_bits(), exact.to_bits(), "({i}, {j}) with {mutual:?}");
                        assert_eq!(terms.map(f32::to_bits), scorer.terms(i, j).map(f32::to_bits), "terms of ({i}, {j})");
                        assert!(tile.reaches(o, exact), "the bound of ({i}, {j}) is below its score {exact}");
                        pruned_at_half += usize::from(!tile.reaches(o, 0.5));
                        scored += 1;
                    }
                    // One list with a high floor: the first bound marks few positions, and
                    // those alone get the other terms, which must be the same bits.
                    let floor = 0.6 * weights.0.iter().sum::<f32>();
                    kernel.score_tile(&query, start..start + len, Reach::One(floor), &mut tile, &mut removed);
                    let marked: Vec<usize> = tile.marked().collect();
                    (marked_high, positions_high) = (marked_high + marked.len(), positions_high + len);
                    for o in 0..len {
                        let j = (start + o) as PartnerIdx;
                        let reaches = admitted.contains(&o) && scorer.score(i, j) >= floor;
                        assert!(!reaches || marked.contains(&o), "({i}, {j}) reaches {floor} but is not marked");
                    }
                    for &o in &marked {
                        let j = (start + o) as PartnerIdx;
                        let (score, terms) = kernel.exact(&tile, &query, o);
                        assert_eq!(score.to_bits(), scorer.score(i, j).to_bits(), "({i}, {j}) marked against {floor}");
                        assert_eq!(terms.map(f32::to_bits), scorer.terms(i, j).map(f32::to_bits), "terms of ({i}, {j}) marked against {floor}");
                    }
                }
            }
        }
    }
    assert!(scored > 10_000 && pruned_at_half > scored / 10, "{pruned_at_half} of {scored} pruned at 0.5");
    assert!(marked_high > 100 && marked_high * 10 < positions_high, "{marked_high} of {positions_high} marked against the high floors");
}

/// The kernel's first bound for one list reads geography's bound at the point of the
/// columns' ball nearest to the partner: columns of one country, of one sub-region, of one
/// partner and strided across the population, against floors at the partner's own median
/// and third best scores with them (at the third best, the first bound marks few positions
/// and they alone go on to the other terms). Every position whose score reaches the floor
/// is marked, with the pair scorer's terms.
#[test]
fn a_leaf_first_bound_marks_every_position_that_reaches_the_floor() {
    let dir = Dir::new();
    let (features, duplicates) = features_of(&dir, 600, 21);
    let n = features.len() as PartnerIdx;
    let by = |key: &dyn Fn(usize) -> u16| {
        let mut groups: std::collections::BTreeMap<u16, Vec<PartnerIdx>> = Default::default();
        (0..n).for_each(|i| groups.entry(key(i as usize)).or_default().push(i));
        groups.into_values().collect::<Vec<_>>()
    };
    let mut groups = by(&|i| features.country[i]);
    groups.extend(by(&|i| features.sub_region[i]));
    groups.extend((0..3).map(|offset| (offset..n).step_by(3).collect()));
    groups.extend((0..n).step_by(41).map(|i| vec![i]));
    let rules = RuleSet::new(&duplicates, &[], None, None);
    let (mut tile, mut removed) = (Box::<Tile>::default(), vec![0u64; rules.len()]);
    let (mut reaching, mut near) = (0, 0);
    let instruction_sets: Vec<Simd> = Simd::ALL.iter().copied().filter(|s| s.is_supported()).collect();
    for weights in [default_weights(), Weights([0.1, 0.2, 0.0, 2.0, 0.3, 0.0, 0.1])] {
        let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, ScoreSettings { weights, ..settings(weights) });
        for (g, group) in groups.iter().enumerate() {
            let columns = Columns::build(&scorer, group.clone());
            let simd = instruction_sets[g % instruction_sets.len()];
            let kernel = Kernel::new(&scorer, &rules, &columns).with_simd(simd);
            for i in (0..n).step_by(7) {
                let admitted: Vec<usize> = (0..group.len()).filter(|&o| rules.first_refusal(&features, i, group[o]).is_none()).collect();
                let mut scores: Vec<f32> = admitted.iter().map(|&o| scorer.score(i, group[o])).collect();
                scores.sort_by(f32::total_cmp);
                let query = Query::new(&scorer, i);
                let floors = [scores.len() / 2, scores.len().saturating_sub(3)].map(|at| scores.get(at).copied());
                let runs: Vec<_> = Columns::runs(0..columns.len()).collect();
                for (floor, run) in floors.into_iter().flatten().flat_map(|floor| runs.iter().map(move |run| (floor, run.clone()))) {
                    kernel.score_tile(&query, run.clone(), Reach::One(floor), &mut tile, &mut removed);
                    let marked: Vec<usize> = tile.marked().map(|o| run.start + o).collect();
                    for &p in admitted.iter().filter(|&&p| run.contains(&p)) {
                        let (j, score) = (group[p], scorer.score(i, group[p]));
                        if score < floor {
                            continue;
                        }
                        assert!(marked.contains(&p), "({i}, {j}) scores {score}, reaching {floor}, but is not marked ({simd:?})");
                        let (exact, terms) = kernel.exact(&tile, &query, p - run.start);
                        assert_eq!((exact.to_bits(), terms.map(f32::to_bits)), (score.to_bits(), scorer.terms(i, j).map(f32::to_bits)), "({i}, {j})");
                        reaching += 1;
                        near += usize::from(distance_km(&features.unit[i as usize], &features.unit[j as usize]) < 500.0);
                    }
                }
            }
        }
    }
    assert!(reaching > 10_000 && near > 1_000, "{reaching} positions reached their floors, {near} of them within 500 km");
}

#[test]
fn a_group_bound_is_never_below_a_pair_score() {
    let dir = Dir::new();
    let (features, _) = features_of(&dir, 300, 12);
    let n = features.len() as PartnerIdx;
    // Groups of neighbours in id order and groups strided across the whole population.
    let mut groups: Vec<Vec<PartnerIdx>> = (0..n).collect::<Vec<_>>().chunks(17).map(<[PartnerIdx]>::to_vec).collect();
    groups.extend((0..5).map(|offset| (offset..n).step_by(5).collect()));
    let summaries: Vec<GroupSummary> = groups.iter().map(|g| GroupSummary::of(&features, g)).collect();
    let singles: Vec<GroupSummary> = (0..n).map(|i| GroupSummary::of(&features, &[i])).collect();
    let mut tight = 0.0f64;
    for mutual in MutualRule::ALL {
        for weights in [default_weights(), Weights([0.1, 0.9, 0.0, 2.0, 0.3, 0.5, 0.7])] {
            let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, ScoreSettings { weights, mutual, ..settings(weights) });
            let scores: Vec<Vec<f32>> = (0..n).map(|i| (0..n).map(|j| scorer.score(i, j)).collect()).collect();
            for (group, summary) in groups.iter().zip(&summaries) {
                for i in 0..n {
                    let bound = scorer.pair_bound(&singles[i as usize], summary);
                    let best = group.iter().map(|&j| scores[i as usize][j as usize]).fold(f32::MIN, f32::max);
                    assert!(bound >= best, "partner {i}: bound {bound} below a member's score {best}");
                    tight += f64::from(best / bound);
                }
                for (other, other_summary) in groups.iter().zip(&summaries) {
                    let bound = scorer.pair_bound(other_summary, summary);
                    assert_eq!(bound, scorer.pair_bound(summary, other_summary), "symmetric like the score");
                    for &i in other {
                        let best = group.iter().map(|&j| scores[i as usize][j as usize]).fold(f32::MIN, f32::max);
                        assert!(bound >= best, "groups: bound {bound} below the score {best} of partner {i}");
                    }
                }
            }
        }
    }
    let mean = tight / (8 * n as usize * groups.len()) as f64;
    assert!(mean > 0.5, "the bound is useful: best member score / bound = {mean:.2} on average");
}

#[test]
fn the_bounds_with_groups_as_columns_are_never_below_a_pair_score() {
    let dir = Dir::new();
    let (features, _) = features_of(&dir, 300, 12);
    let n = features.len() as PartnerIdx;
    // More groups than one chunk of columns: partners alone, and pairs near and far in id order.
    let mut groups: Vec<Vec<PartnerIdx>> = (0..n).map(|i| vec![i]).collect();
    groups.extend((0..n).map(|i| vec![i, (i + 1) % n]));
    groups.extend((0..n).map(|i| vec![i, (i + 7) % n]));
    let summaries: Vec<GroupSummary> = groups.iter().map(|g| GroupSummary::of(&features, g)).collect();
    let columns = SummaryColumns::of(&summaries);
    let sides: Vec<GroupSummary> = (0..n).map(|i| GroupSummary::of(&features, &[i])).chain(summaries[n as usize..][..40].iter().cloned()).collect();
    let side_members: Vec<Vec<PartnerIdx>> = (0..n).map(|i| vec![i]).chain(groups[n as usize..][..40].iter().cloned()).collect();
    let (mut tight, mut count) = (0.0f64, 0usize);
    for mutual in MutualRule::ALL {
        for weights in [default_weights(), Weights([0.1, 0.9, 0.0, 2.0, 0.3, 0.5, 0.7])] {
            let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, ScoreSettings { weights, mutual, ..settings(weights) });
            let total: f32 = weights.0.iter().sum();
            let bounds = scorer.bounds_with(&sides, &columns);
            for ((side, members), bounds) in sides.iter().zip(&side_members).zip(&bounds) {
                assert_eq!(bounds.len(), groups.len());
                for ((group, summary), &bound) in groups.iter().zip(&summaries).zip(bounds) {
                    let best = members.iter().flat_map(|&i| group.iter().map(move |&j| (i, j))).map(|(i, j)| scorer.score(i, j)).fold(f32::MIN, f32::max);
                    assert!(bound >= best, "{members:?} with {group:?}: bound {bound} below the score {best}");
                    // The same terms as `pair_bound`, geography's kernel bounded by a series.
                    let pair = scorer.pair_bound(side, summary);
                    assert!(bound >= pair - 1e-5 && bound <= pair + 0.02 * total, "{members:?} with {group:?}: {bound} against pair_bound {pair}");
                    tight += f64::from(best / bound);
                    count += 1;
                }
            }
        }
    }
    assert!(tight / count as f64 > 0.5, "the bound is useful: best score / bound = {:.2} on average", tight / count as f64);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn ranked_lists_equal_a_sort_everything_oracle(
        seed in 0u64..1000,
        n in 2usize..120,
        k in 1usize..15,
        weights in prop::array::uniform7(0.0f32..1.0),
    ) {
        prop_assume!(weights.iter().any(|&w| w > 0.0));
        let dir = Dir::new();
        let (features, duplicates) = features_of(&dir, n, seed);
        let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(Weights(weights)));
        // Every third population also keeps only some modalities (a symmetric rule, so the
        // pairwise scan applies to it too).
        let modality = (seed % 3 == 0).then(|| ModalityFilter {
            keep: vec![Modality::SouthSouth, Modality::Triangular, Modality::CityToCity],
            triangular: TriangularDefinition::B,
        });
        let rules = RuleSet::new(&duplicates, &[], modality, None);
        // Odd seeds rank every active partner (the nightly job: each pair scored once for
        // both lists), even seeds every partner (one list at a time).
        let partners: Vec<PartnerIdx> = (0..features.len() as PartnerIdx)
            .filter(|&p| seed % 2 == 0 || features.active[p as usize])
            .collect();
        let columns = Columns::in_index_order(&scorer);
        let (lists, stats) = Scan::new(scorer, &rules, Candidates::Columns(&columns)).shortlists(&partners, k, &|_| {});
        let mut removed = vec![0u64; rules.len()];
        let mut admitted = 0u64;
        for &p in &partners {
            for c in 0..features.len() as PartnerIdx {
                match rules.first_refusal(&features, p, c) {
                    Some(rule) => removed[rule] += 1,
                    None => admitted += 1,
                }
            }
        }
        prop_assert_eq!(stats.pairs_scored, admitted);
        prop_assert_eq!(&stats.removed_by_rule, &removed);
        let active: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).filter(|&p| features.active[p as usize]).collect();
        let blocks = Blocks::build(&scorer, &active, Some(1 + seed as usize % 40), None);
        let (blocked, blocked_stats) = Scan::new(scorer, &rules, Candidates::Blocks(&blocks)).shortlists(&partners, k, &|_| {});
        prop_assert_eq!(&blocked, &lists);
        prop_assert!(blocked_stats.pairs_scored <= stats.pairs_scored);
        for list in lists {
            let mut oracle: Vec<Hit> = (0..features.len() as PartnerIdx)
                .filter(|&c| rules.first_refusal(&features, list.partner, c).is_none())
                .map(|c| Hit { candidate: c, score: scorer.score(list.partner, c) })
                .collect();
            oracle.sort_by(ranking_order);
            oracle.truncate(k);
            prop_assert_eq!(list.hits, oracle);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_scan_around_some_partners_equals_the_oracle(seed in 0u64..1000, n in 2usize..700, k in 1usize..12) {
        let dir = Dir::new();
        let (features, duplicates) = features_of(&dir, n, seed);
        let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(default_weights()));
        let rules = RuleSet::new(&duplicates, &[], None, None);
        let active: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).filter(|&p| features.active[p as usize]).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let share = [0.05, 0.3, 0.8][seed as usize % 3];
        let queries: Vec<PartnerIdx> = active.iter().copied().filter(|_| rand::Rng::gen_bool(&mut rng, share)).collect();
        let is_query = |c: PartnerIdx| queries.binary_search(&c).is_ok();
        let oracle = |p: PartnerIdx, among: &dyn Fn(PartnerIdx) -> bool| {
            let mut hits: Vec<Hit> = (0..features.len() as PartnerIdx)
                .filter(|&c| among(c) && rules.first_refusal(&features, p, c).is_none())
                .map(|c| Hit { candidate: c, score: scorer.score(p, c) })
                .collect();
            hits.sort_by(ranking_order);
            hits.truncate(k);
            hits
        };
        // As on an incremental night: every other partner's best k among the others (its pool),
        // and for odd partners the pool's last score as the floor, when the pool is full.
        let pools: Vec<Vec<Hit>> = (0..features.len() as PartnerIdx).map(|p| oracle(p, &|c| !is_query(c))).collect();
        let floors: Vec<f32> = (0..features.len())
            .map(|p| match p % 2 == 1 && pools[p].len() == k {
                true => pools[p][k - 1].score,
                false => f32::NEG_INFINITY,
            })
            .collect();
        let columns = Columns::in_index_order(&scorer);
        let around = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let scan = Scan::new(scorer, &rules, Candidates::Columns(&columns));
            let (fruits, _) = pool.install(|| scan.around(&queries, floors.clone(), &sstc_match::engine::rank::TopKCollector { k }, &|_| {}));
            // Each other partner's pool merged with what it was handed, as the night merges them.
            fruits
                .into_iter()
                .enumerate()
                .map(|(p, fruit)| {
                    fruit.map(|mut hits| {
                        if !is_query(p as PartnerIdx) {
                            hits.extend(&pools[p]);
                            hits.sort_by(ranking_order);
                            hits.truncate(k);
                        }
                        hits
                    })
                })
                .collect::<Vec<_>>()
        };
        let (one, two) = (around(1), around(2));
        prop_assert_eq!(&one, &two, "one thread against two");
        for (p, list) in two.into_iter().enumerate() {
            let p = p as PartnerIdx;
            match list {
                None => prop_assert!(!features.active[p as usize]),
                Some(list) => prop_assert_eq!(list, oracle(p, &|_| true), "partner {} (query: {})", p, is_query(p)),
            }
        }
    }
}

#[test]
fn a_refit_numbered_after_the_previous_fit_keeps_its_numbers() {
    let dir = Dir::new();
    let (features, _) = features_of(&dir, 2000, 3);
    let all: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).collect();
    let (model, sample) = cluster::fit(&features, &all, 8, 42).unwrap();
    // What a night compares: inertia_on measures a fit's own rows as linfa reports them.
    let measured = model.inertia_on(&features, &sample);
    assert!((measured - model.inertia).abs() <= 1e-3 * model.inertia, "{measured} vs {}", model.inertia);

    // The same clusters shuffled are numbered back.
    let mut shuffled = model.clone();
    for (to, from) in (0..8).rev().enumerate() {
        shuffled.centroids.row_mut(to).assign(&model.centroids.row(from));
    }
    assert_ne!(shuffled, model);
    assert_eq!(shuffled.numbered_after(&model), model);

    // Another fit (another seed) keeps its centroids, renumbered, and more partners keep
    // their cluster number than under its own numbering.
    let (other, _) = cluster::fit(&features, &all, 8, 7).unwrap();
    let numbered = other.clone().numbered_after(&model);
    let rows = |m: &cluster::ClusterModel| {
        let mut rows: Vec<Vec<u32>> = m.centroids.outer_iter().map(|r| r.iter().map(|x| x.to_bits()).collect()).collect();
        rows.sort();
        rows
    };
    assert_eq!(rows(&numbered), rows(&other));
    let before = model.assign(&features);
    let same = |m: &cluster::ClusterModel| m.assign(&features).iter().zip(&before).filter(|(a, b)| a == b).count();
    assert!(same(&numbered) > same(&other), "{} vs {}", same(&numbered), same(&other));

    // Fewer or more clusters than last night: numbers stay 0..k, centroids the refit's.
    for k in [5, 11] {
        let (refit, _) = cluster::fit(&features, &all, k, 42).unwrap();
        let numbered = refit.clone().numbered_after(&model);
        assert_eq!(rows(&numbered), rows(&refit), "k = {k}");
        assert!(numbered.assign(&features).iter().all(|&c| (c as usize) < k));
    }
}

/// The folded name of the duplicates' evidence: letters and digits, as places are normalised.
fn folded(name: &str) -> String {
    sstc_match::engine::reference::normalise_place(&name.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect::<String>())
}

/// Likely duplicates against comparing every pair: the groups are the connected parts of the
/// pairs with one folded name and one country, one folded name within 1 km, or one contact
/// email. Some records share an email, and some take the name of the record two before them
/// and stand 0.9 km east of it at its latitude, in another country.
#[test]
fn likely_duplicates_group_what_comparing_every_pair_links() {
    let dir = Dir::new();
    let mut profiles = ingest(&TableSource::File(generated(&dir, 1500, 17)), Reference::builtin()).unwrap().profiles;
    share_contact_emails(&mut profiles);
    for i in (2..profiles.len()).step_by(40) {
        let (lat, lon, country) = (profiles[i - 2].lat, profiles[i - 2].lon, profiles[i - 2].country);
        profiles[i].name = profiles[i - 2].name.to_uppercase();
        profiles[i].country = if country == 1 { 2 } else { 1 };
        profiles[i].lat = lat;
        profiles[i].lon = lon + 0.9 / (111.32 * lat.to_radians().cos());
    }
    let names: Vec<String> = profiles.iter().map(|p| folded(&p.name)).collect();
    let email = |p: &Profile| p.contact_email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
    let mut root: Vec<usize> = (0..profiles.len()).collect();
    fn find(root: &mut [usize], mut i: usize) -> usize {
        while root[i] != i {
            i = root[i];
        }
        i
    }
    let mut linked_within_1_km = 0;
    for i in 0..profiles.len() {
        for j in i + 1..profiles.len() {
            let (a, b) = (&profiles[i], &profiles[j]);
            let near = || distance_km(&unit_vector(a.lat, a.lon), &unit_vector(b.lat, b.lon)) <= 1.0;
            let same_name = !names[i].is_empty() && names[i] == names[j];
            let cross_border = same_name && a.country != b.country && near();
            linked_within_1_km += usize::from(cross_border);
            if (same_name && a.country == b.country) || cross_border || (email(a).is_some() && email(a) == email(b)) {
                let (ri, rj) = (find(&mut root, i), find(&mut root, j));
                root[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    assert!(linked_within_1_km >= 30, "the population has records of one name within 1 km across a border ({linked_within_1_km})");
    let duplicates = likely_duplicates(&profiles);
    for (i, profile) in profiles.iter().enumerate() {
        assert_eq!(duplicates.group_of(i as PartnerIdx) as usize, find(&mut root, i), "record {i} ({})", profile.name);
    }
}

/// Two records of one name 0.9 km apart east and west at 60° north, in two countries: two grid
/// cells of 0.01° apart (a cell is 0.56 km wide there), and two across the 180th meridian. Each
/// pair is linked as the same name within 1 km (the first was missed while the search read
/// only the neighbouring cells; the second while the cells did not wrap around the globe).
#[test]
fn same_name_within_1_km_is_found_far_north_and_across_the_date_line() {
    let dir = Dir::new();
    let mut profiles = ingest(&TableSource::File(generated(&dir, 200, 11)), Reference::builtin()).unwrap().profiles;
    let mut place = |i: usize, name: &str, country: u16, (lat, lon): (f64, f64)| {
        let p = &mut profiles[i];
        (p.name, p.country, p.lat, p.lon, p.contact_email) = (name.to_string(), country, lat, lon, None);
    };
    place(10, "Nordic Builders Cooperative", 1, (60.0, 25.0099));
    place(20, "Nordic Builders Cooperative", 2, (60.0, 25.0261));
    place(30, "Pacific Fishers Union", 1, (-16.5, 179.9995));
    place(40, "Pacific Fishers Union", 2, (-16.5, -179.9995));
    let duplicates = likely_duplicates(&profiles);
    for (a, b) in [(10, 20), (30, 40)] {
        assert!(
            duplicates.links.iter().any(|l| (l.a, l.b) == (a, b) && l.evidence == "same name within 1 km"),
            "records {a} and {b}: {:?}",
            duplicates.links.iter().filter(|l| l.a == a || l.b == b).collect::<Vec<_>>()
        );
    }
}
