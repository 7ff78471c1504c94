//! Triads in a campaign (`campaign --triads`): the run's triads allocated before its pairs.
//!
//! Input: the run's triads (`triads.csv`), the capacity each partner has left, the
//! suppressed pairs. Output: the triads proposed, best first, and the capacity they used.
//!
//! A triad is one new partnership for each of its three members, so it takes one unit of
//! each one's capacity; the pairs are then allocated in what is left. Triads go first: each
//! needs a funder's or facilitator's room as well, and the run has already limited how many
//! a third is in. Choosing triads under capacities is a three-dimensional matching
//! (NP-hard), so they are taken greedily by score (ties by the three ids), each while all
//! three members have room; a triad any two of whose members were contacted recently is
//! suppressed.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::io::run_dir::TriadRow;

/// What the triad allocation chose.
pub struct TriadChoice<'r, 't> {
    /// The triads proposed, best first.
    pub chosen: Vec<&'r TriadRow<'t>>,
    /// Triads left out because two of their members were contacted recently.
    pub suppressed: usize,
}

/// Allocates `triads` best first within `capacity` (partner id → room left; a partner not
/// in it has no limit), taking one unit from each member of every triad chosen.
pub fn allocate_triads<'r, 't>(triads: &'r [TriadRow<'t>], capacity: &mut HashMap<&'t str, u32>, suppressed: &HashSet<(String, String)>) -> TriadChoice<'r, 't> {
    let mut order: Vec<&TriadRow> = triads.iter().collect();
    order.sort_by(|x, y| best_first(x, y));
    let mut choice = TriadChoice { chosen: Vec::new(), suppressed: 0 };
    for triad in order {
        let members = ids(triad);
        let contacted = |a: &str, b: &str| suppressed.contains(&(a.to_string(), b.to_string()));
        if contacted(members[0], members[1]) || contacted(members[0], members[2]) || contacted(members[1], members[2]) {
            choice.suppressed += 1;
            continue;
        }
        if members.iter().all(|id| capacity.get(id).is_none_or(|&left| left > 0)) {
            for id in members {
                if let Some(left) = capacity.get_mut(id) {
                    *left -= 1;
                }
            }
            choice.chosen.push(triad);
        }
    }
    choice
}

/// The beneficiary, provider and third ids.
fn ids<'t>(triad: &TriadRow<'t>) -> [&'t str; 3] {
    [triad.beneficiary.id, triad.provider.id, triad.third.id]
}

/// Best first: score descending, then the three ids.
fn best_first(x: &TriadRow, y: &TriadRow) -> Ordering {
    y.score.total_cmp(&x.score).then_with(|| ids(x).cmp(&ids(y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::run_dir::Member;

    fn triad<'t>(b: &'t str, p: &'t str, t: &'t str, score: f64) -> TriadRow<'t> {
        let member = |id| Member { id, name: id, country: "KEN" };
        TriadRow { beneficiary: member(b), provider: member(p), third: member(t), third_role: "funder", score, reason: "" }
    }

    #[test]
    fn triads_take_one_unit_of_each_members_room_best_first() {
        let triads = [triad("b1", "p", "f", 0.9), triad("b2", "p", "f", 0.8), triad("b3", "p2", "f", 0.7), triad("b4", "p3", "g", 0.6)];
        let mut capacity: HashMap<&str, u32> = [("f", 2), ("p", 1), ("g", 0)].into();
        let choice = allocate_triads(&triads, &mut capacity, &HashSet::new());
        let chosen: Vec<&str> = choice.chosen.iter().map(|t| t.beneficiary.id).collect();
        // b2 needs the provider's one slot, taken by the better b1; g has no room.
        assert_eq!(chosen, ["b1", "b3"]);
        assert_eq!((capacity["f"], capacity["p"]), (0, 0));
        let suppressed: HashSet<(String, String)> = [("p".to_string(), "f".to_string())].into();
        let mut room: HashMap<&str, u32> = HashMap::new();
        let choice = allocate_triads(&triads, &mut room, &suppressed);
        assert_eq!(choice.chosen.len(), 2);
        assert_eq!(choice.suppressed, 2, "any two members contacted recently");
    }
}
