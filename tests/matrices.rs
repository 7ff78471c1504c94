//! The exported matrices (`run --export-matrices`) reproduce the inner-product part of the
//! engine's score:
//! 1. per term, `query(i) · candidate(j)` equals that term's linear part computed here from
//!    the features by the formulas of `score::linear`'s table;
//! 2. with only linear terms weighted (mutual benefit by the mean rule, actor type) the score
//!    *is* the inner product, and the engine's lists equal a brute-force top-k of `Q @ C.T`
//!    computed here in f64, rank by rank (the order of candidates tied within 1e-5 aside).

mod util;

use std::path::Path;

use sstc_match::config::default_score_settings as settings;
use sstc_match::engine::features::{FeatureSettings, PartnerFeatures};
use sstc_match::engine::ingest::ingest;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::score::linear::Linear;
use sstc_match::engine::score::{need_coverage, MutualRule, ScoreSettings, Scorer, Term, Weights, TERM_COUNT};
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::{code, generated, stderr, Csv, Dir};

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

#[test]
fn each_term_exports_its_linear_part() {
    let dir = Dir::new();
    let input = generated(&dir, 250, 21);
    let ingested = ingest(&TableSource::File(input), Reference::builtin()).unwrap();
    let f = PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() });
    let compatibility = &Reference::builtin().actor_compatibility;
    let n = f.len() as PartnerIdx;
    for term in Term::ALL {
        for mutual in [MutualRule::Harmonic, MutualRule::Mean] {
            let mut w = [0.0; TERM_COUNT];
            w[term as usize] = 0.7;
            let weights = Weights(w);
            let scorer = Scorer::new(&f, compatibility, ScoreSettings { weights, mutual, ..settings(weights) });
            let linear = Linear::new(&scorer);
            let (mut q, mut c) = (vec![0.0; linear.width()], vec![0.0; linear.width()]);
            for i in (0..n).step_by(7) {
                linear.query_row(i, &mut q);
                for j in 0..n {
                    linear.candidate_row(j, &mut c);
                    let (a, b) = (i as usize, j as usize);
                    let raw = scorer.terms(i, j)[term as usize] as f64;
                    let coverage = || (need_coverage(&f, a, b) + need_coverage(&f, b, a)) as f64 / 2.0;
                    let expected = 0.7 * match term {
                        Term::Complementarity => coverage(),
                        Term::MutualBenefit if mutual == MutualRule::Mean => coverage(),
                        Term::MutualBenefit => 0.0,
                        Term::Context => {
                            let shared = f.languages[a].iter().any(|&l| l != u16::MAX && f.languages[b].contains(&l));
                            let both_cities = f.city_class[a] != 0 && f.city_class[b] != 0;
                            raw - f64::from(u8::from(shared)) / if both_cities { 4.0 } else { 3.0 }
                        }
                        Term::Geography => 0.25 * f64::from(u8::from(f.sub_region[a] == f.sub_region[b])),
                        Term::Values => (4.0 + 0.5 * (f.values_known[a] & f.values_known[b]).count_ones() as f64) / 8.0,
                        Term::Sector => 0.0,
                        Term::ActorType => raw,
                    };
                    let got = dot(&q, &c);
                    assert!((got - expected).abs() < 1e-5, "{term:?} {mutual:?} ({i}, {j}): {got} vs {expected}");
                }
            }
        }
    }
}

/// A `.npy` float32 matrix: (rows, cols, data).
fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "{header}");
    let shape = &header[header.find("'shape': (").unwrap() + 10..];
    let shape: Vec<usize> = shape[..shape.find(')').unwrap()].split(',').map(|s| s.trim().parse().unwrap()).collect();
    let data: Vec<f32> = bytes[10 + header_len..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(data.len(), shape[0] * shape[1]);
    (shape[0], shape[1], data)
}

#[test]
fn with_linear_terms_only_the_lists_are_the_top_k_of_the_exported_product() {
    let dir = Dir::new();
    let input = generated(&dir, 400, 5);
    // Without triads a donor's list is its pair list too (not its support proposals).
    let mut args = vec!["run", "--profiles", input.to_str().unwrap(), "--out", "out", "-q", "--no-triads"];
    args.extend(["--export-matrices", "m", "--mutual-rule", "mean", "--disable-rule", "shared_theme", "--disable-rule", "demand_driven"]);
    for weight in ["complementarity=0", "context=0", "geography=0", "values=0", "sector=0", "mutual_benefit=1", "actor_type=0.4"] {
        args.extend(["--weight", weight]);
    }
    let output = dir.run(&args);
    assert!(code(&output) <= 1, "{}", stderr(&output));
    let (rows, width, queries) = read_npy(&dir.path("m/queries.npy"));
    let (candidate_rows, candidate_width, candidates) = read_npy(&dir.path("m/candidates.npy"));
    assert_eq!((rows, width), (candidate_rows, candidate_width));
    let ids: Vec<String> = std::fs::read_to_string(dir.path("m/ids.txt")).unwrap().lines().map(str::to_string).collect();
    assert_eq!(ids.len(), rows);
    let row_of = |id: &str| ids.iter().position(|x| x == id).unwrap();
    let product = |q: usize, c: usize| dot(&queries[q * width..][..width], &candidates[c * width..][..width]);

    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    assert_eq!(shortlist.len(), 10 * rows, "every active partner gets a full list");
    // Likely duplicate records (the generator repeats names) are never proposed to each other.
    let duplicates = Csv::read(&dir.path("out/duplicates.csv"));
    let mut groups: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
    for r in 0..duplicates.len() {
        // Keyed by the group's id: inactive records are not among the exported rows.
        let key = duplicates.get(r, "group");
        for side in ["id_a", "id_b"] {
            if let Some(row) = ids.iter().position(|x| *x == duplicates.get(r, side)) {
                groups.insert(row, key.clone());
            }
        }
    }
    assert_ne!(duplicates.len(), 0, "the generated set has look-alikes");
    let (mut identical, mut lists) = (0, 0);
    for q in 0..rows {
        let list: Vec<usize> = (0..shortlist.len())
            .filter(|&r| shortlist.get(r, "partner_id") == ids[q])
            .map(|r| {
                let c = row_of(&shortlist.get(r, "candidate_id"));
                let score: f64 = shortlist.get(r, "score").parse().unwrap();
                assert!((product(q, c) - score).abs() < 1e-5, "{} → {}: {} vs {score}", ids[q], ids[c], product(q, c));
                c
            })
            .collect();
        let mut brute: Vec<(f64, usize)> = (0..rows).filter(|&c| c != q && (!groups.contains_key(&c) || groups.get(&c) != groups.get(&q))).map(|c| (product(q, c), c)).collect();
        brute.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        // Rank by rank the same products: the same list, up to the order of tied candidates.
        for (rank, (&c, &(best, _))) in list.iter().zip(&brute).enumerate() {
            assert!((product(q, c) - best).abs() < 1e-5, "{} rank {}: {} vs {best}", ids[q], rank + 1, product(q, c));
        }
        identical += usize::from(list == brute[..10].iter().map(|x| x.1).collect::<Vec<_>>());
        lists += 1;
    }
    // Exact ties are common here (many pairs share an actor-type value and no coverage), so
    // the tie order decides the rest; most lists are identical outright.
    assert!(identical * 10 >= lists * 8, "{identical} of {lists} lists identical");
}
