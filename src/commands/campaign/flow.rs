//! Exact capacity-constrained allocation by minimum-cost flow.
//!
//! Input: proposals (recipient, proposed, integer gain) and a capacity per recipient and per
//! proposed partner. Output: the subset of proposals with the largest total gain such that no
//! recipient receives, and no partner is proposed, more often than its capacity: a
//! bipartite b-matching, solved as a min-cost flow (source → recipients → proposed → sink,
//! costs = −gain) by successive shortest paths with Johnson potentials, stopping when no
//! augmenting path has positive gain. Integer gains keep it exact.
//!
//! For campaigns too large for the exact solver ([`allocate_greedy`]): proposals by gain,
//! each taken while both sides have capacity left, with [`upper_bound`] to show the gap (at
//! most half of the optimum in theory; the bound measures it on the instance).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

struct Edge {
    to: usize,
    capacity: i64,
    cost: i64,
}

/// A flow network (adjacency lists over an edge arena; edge `e ^ 1` is `e`'s reverse).
struct Network {
    edges: Vec<Edge>,
    adjacent: Vec<Vec<usize>>,
}

impl Network {
    fn new(nodes: usize) -> Self {
        Network {
            edges: Vec::new(),
            adjacent: vec![Vec::new(); nodes],
        }
    }

    fn add(&mut self, from: usize, to: usize, capacity: i64, cost: i64) -> usize {
        self.adjacent[from].push(self.edges.len());
        self.edges.push(Edge { to, capacity, cost });
        self.adjacent[to].push(self.edges.len());
        self.edges.push(Edge { to: from, capacity: 0, cost: -cost });
        self.edges.len() - 2
    }
}

/// One proposal: `recipient` would receive `proposed`, worth `gain` (> 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proposal {
    /// Index of the recipient.
    pub recipient: usize,
    /// Index of the partner proposed.
    pub proposed: usize,
    /// Integer gain (a scaled score).
    pub gain: i64,
}

/// Indices of the chosen proposals (ascending). `capacity[i]` bounds partner `i` both as a
/// recipient and as a proposed partner.
pub fn allocate(proposals: &[Proposal], capacity: &[u32]) -> Vec<usize> {
    let n = capacity.len();
    // Nodes: source, recipients 1..=n, proposed n+1..=2n, sink.
    let (source, sink) = (0, 2 * n + 1);
    let mut net = Network::new(2 * n + 2);
    for (i, &c) in capacity.iter().enumerate() {
        net.add(source, 1 + i, c as i64, 0);
        net.add(1 + n + i, sink, c as i64, 0);
    }
    let arcs: Vec<usize> = proposals
        .iter()
        .map(|p| net.add(1 + p.recipient, 1 + n + p.proposed, 1, -p.gain))
        .collect();

    // Initial potentials: the longest gain into each node (the graph is a DAG of 4 layers).
    let mut potential = vec![0i64; 2 * n + 2];
    for p in proposals {
        let node = 1 + n + p.proposed;
        potential[node] = potential[node].min(-p.gain);
    }
    potential[sink] = potential[1 + n..1 + 2 * n].iter().copied().min().unwrap_or(0).min(0);

    loop {
        // Dijkstra on reduced costs.
        let mut dist = vec![i64::MAX; 2 * n + 2];
        let mut via = vec![usize::MAX; 2 * n + 2];
        dist[source] = 0;
        let mut heap = BinaryHeap::from([Reverse((0i64, source))]);
        while let Some(Reverse((d, u))) = heap.pop() {
            if d > dist[u] {
                continue;
            }
            if u == sink {
                break; // nodes beyond the sink's distance are not needed for this path
            }
            for &e in &net.adjacent[u] {
                let edge = &net.edges[e];
                if edge.capacity == 0 {
                    continue;
                }
                let next = d + edge.cost + potential[u] - potential[edge.to];
                if next < dist[edge.to] {
                    dist[edge.to] = next;
                    via[edge.to] = e;
                    heap.push(Reverse((next, edge.to)));
                }
            }
        }
        if dist[sink] == i64::MAX {
            break;
        }
        // The real cost of the path; stop when it no longer gains.
        let path_cost = dist[sink] + potential[sink] - potential[source];
        if path_cost >= 0 {
            break;
        }
        // Capping at the sink's distance keeps every reduced cost non-negative although the
        // search stopped at the sink.
        let cap = dist[sink];
        for (node, d) in dist.iter().enumerate() {
            potential[node] += (*d).min(cap);
        }
        let mut flow = i64::MAX;
        let mut v = sink;
        while v != source {
            let e = via[v];
            flow = flow.min(net.edges[e].capacity);
            v = net.edges[e ^ 1].to;
        }
        let mut v = sink;
        while v != source {
            let e = via[v];
            net.edges[e].capacity -= flow;
            net.edges[e ^ 1].capacity += flow;
            v = net.edges[e ^ 1].to;
        }
    }
    arcs.iter()
        .enumerate()
        .filter(|(_, &e)| net.edges[e].capacity == 0)
        .map(|(i, _)| i)
        .collect()
}

/// The greedy allocation: proposals by descending gain (ties by index), each taken while both
/// sides have capacity left. Indices ascending.
pub fn allocate_greedy(proposals: &[Proposal], capacity: &[u32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..proposals.len()).collect();
    order.sort_by(|&a, &b| proposals[b].gain.cmp(&proposals[a].gain).then(a.cmp(&b)));
    let (mut given, mut taken) = (vec![0u32; capacity.len()], vec![0u32; capacity.len()]);
    let mut chosen: Vec<usize> = order
        .into_iter()
        .filter(|&i| {
            let p = proposals[i];
            let fits = given[p.recipient] < capacity[p.recipient] && taken[p.proposed] < capacity[p.proposed];
            if fits {
                given[p.recipient] += 1;
                taken[p.proposed] += 1;
            }
            fits
        })
        .collect();
    chosen.sort_unstable();
    chosen
}

/// An upper bound of the optimum: the smaller of the two one-sided relaxations (each
/// recipient keeps its best `capacity` proposals; each proposed partner its best `capacity`).
pub fn upper_bound(proposals: &[Proposal], capacity: &[u32]) -> i64 {
    let side = |key: fn(&Proposal) -> usize| {
        let mut gains: Vec<Vec<i64>> = vec![Vec::new(); capacity.len()];
        proposals.iter().for_each(|p| gains[key(p)].push(p.gain));
        gains
            .iter_mut()
            .zip(capacity)
            .map(|(g, &c)| {
                g.sort_unstable_by(|a, b| b.cmp(a));
                g.iter().take(c as usize).sum::<i64>()
            })
            .sum::<i64>()
    };
    side(|p| p.recipient).min(side(|p| p.proposed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_force(proposals: &[Proposal], capacity: &[u32]) -> i64 {
        let mut best = 0;
        for mask in 0u32..(1 << proposals.len()) {
            let (mut given, mut taken) = (vec![0u32; capacity.len()], vec![0u32; capacity.len()]);
            let mut gain = 0;
            let mut ok = true;
            for (i, p) in proposals.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    given[p.recipient] += 1;
                    taken[p.proposed] += 1;
                    gain += p.gain;
                    ok &= given[p.recipient] <= capacity[p.recipient] && taken[p.proposed] <= capacity[p.proposed];
                }
            }
            if ok {
                best = best.max(gain);
            }
        }
        best
    }

    fn within_capacity(proposals: &[Proposal], chosen: &[usize], capacity: &[u32]) -> bool {
        let (mut given, mut taken) = (vec![0u32; capacity.len()], vec![0u32; capacity.len()]);
        for &i in chosen {
            given[proposals[i].recipient] += 1;
            taken[proposals[i].proposed] += 1;
        }
        (0..capacity.len()).all(|i| given[i] <= capacity[i] && taken[i] <= capacity[i])
    }

    #[test]
    fn a_contested_partner_goes_where_it_is_worth_most() {
        // 0 and 1 both want 2 (capacity 1); 0 can also have 3. Best: 1←2 (9), 0←3 (5).
        let proposals = [
            Proposal { recipient: 0, proposed: 2, gain: 10 },
            Proposal { recipient: 1, proposed: 2, gain: 9 },
            Proposal { recipient: 0, proposed: 3, gain: 5 },
        ];
        assert_eq!(allocate(&proposals, &[1, 1, 1, 1]), vec![1, 2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn equals_the_brute_force_optimum(
            raw in prop::collection::vec((0usize..5, 0usize..5, 1i64..50), 0..11),
            capacity in prop::collection::vec(0u32..3, 5),
        ) {
            let proposals: Vec<Proposal> = raw
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(recipient, proposed, gain)| Proposal { recipient, proposed, gain })
                .collect();
            let chosen = allocate(&proposals, &capacity);
            prop_assert!(within_capacity(&proposals, &chosen, &capacity), "capacity exceeded");
            let total: i64 = chosen.iter().map(|&i| proposals[i].gain).sum();
            let optimum = brute_force(&proposals, &capacity);
            prop_assert_eq!(total, optimum);

            // The greedy respects capacity, stays within half of the optimum, and the bound
            // is one.
            let greedy = allocate_greedy(&proposals, &capacity);
            prop_assert!(within_capacity(&proposals, &greedy, &capacity), "greedy exceeded capacity");
            let greedy_total: i64 = greedy.iter().map(|&i| proposals[i].gain).sum();
            prop_assert!(2 * greedy_total >= optimum && greedy_total <= optimum);
            prop_assert!(upper_bound(&proposals, &capacity) >= optimum);
        }
    }
}
