//! Golden test: a six-partner fixture whose best matches are obvious by construction, and
//! whose whole shortlist was checked by hand.
//!
//! The fixture (`tests/data/golden/profiles.csv`): the City of Dakar needs informal-economy
//! expertise and offers urban development; a street vendors' cooperative in Thiès, 57 km
//! away, offers exactly that and needs exactly what Dakar offers, shares street vending,
//! French and nearly the same values. A transport union in Abidjan needs informal-economy
//! expertise (a one-way match with Thiès, and a trade union - SSE pair). A Paris employers'
//! federation and a Nairobi university share no theme with anyone, so the `shared_theme`
//! rule leaves them without candidates (14 pairs removed by it, as the manifest says). One
//! inactive NGO must appear nowhere.
//!
//! Hand check of the top pair (default weights):
//! complementarity 0.30 × max(1, 1) = 0.3 (each side covers all the other's needs);
//! mutual_benefit 0.15 × harmonic(1, 1) = 0.15;
//! context 0.10 × mean(same South 1, same income group 1, French 1) = 0.1;
//! geography 0.15 × (0.75·exp(-56.7/2000) + 0.25·1) = 0.146855;
//! values 0.10 × (7.9 / 8) = 0.09875 (they differ by 0.1 on solidarity only);
//! sector 0.10 × 1; actor type 0.10 × 0.6 (local authority × SSE unit).
//! Sum 0.955605: rank 1 for both, direction `mutual`, modality `domestic` (Dakar and Thiès
//! are both in Senegal: a domestic pair, not South-South cooperation). Dakar and Abidjan
//! (Senegal, Côte d'Ivoire) are `south_south` peers: no offer of one meets a need of the
//! other, so their offer columns are empty and their sentence names no offer.
//! The union–cooperative pair: complementarity 0.3 (one way), mutual benefit 0 (harmonic
//! mean of 1 and 0): it ranks below the two-way pair; modality `trade_union_sse`.

mod util;

use util::{code, repo, Dir};

#[test]
fn golden_shortlist_matches_the_hand_checked_file() {
    let dir = Dir::new();
    let profiles = repo("tests/data/golden/profiles.csv");
    let output = dir.run(&[
        "run",
        "--profiles",
        profiles.to_str().unwrap(),
        "--out",
        "out",
        "--model-dir",
        "model",
        "--top-k",
        "3",
        "--quiet",
    ]);
    assert_eq!(code(&output), 0, "{}", util::stderr(&output));
    let got = std::fs::read_to_string(dir.path("out/shortlist.csv")).unwrap();
    let expected = std::fs::read_to_string(repo("tests/data/golden/shortlist.csv")).unwrap();
    assert_eq!(got, expected, "shortlist differs from the hand-checked golden file");
}
