//! Benchmark of the scoring kernel: one partner against every candidate (the inner loop of
//! the exhaustive job), and a full ranking pass with top-10.

mod fixtures;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use sstc_match::config::weights::default_weights;
use sstc_match::engine::rank::{Candidates, Scan};
use sstc_match::engine::score::columns::Columns;
use sstc_match::engine::reference::Reference;
use sstc_match::engine::rules::RuleSet;
use sstc_match::engine::score::Scorer;
use sstc_match::PartnerIdx;

use sstc_match::config::default_score_settings as settings;

fn score(c: &mut Criterion) {
    let (_, features) = fixtures::population(20_000);
    let scorer = Scorer::new(&features, &Reference::builtin().actor_compatibility, settings(default_weights()));
    let n = features.len() as PartnerIdx;
    let mut group = c.benchmark_group("score");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("one_partner_all_candidates_20k", |b| {
        b.iter(|| (0..n).map(|j| scorer.score(7, j)).fold(0.0f32, f32::max))
    });
    group.finish();

    let mut group = c.benchmark_group("rank");
    group.sample_size(10);
    let rules = RuleSet::new(&Default::default(), &[], None, None);
    let columns = Columns::in_index_order(&scorer);
    let scan = Scan::new(scorer, &rules, Candidates::Columns(&columns));
    for partners in [200usize, 1000] {
        let queries: Vec<PartnerIdx> = (0..partners as PartnerIdx).collect();
        group.throughput(Throughput::Elements(partners as u64 * n as u64));
        group.bench_with_input(BenchmarkId::new("top10_vs_20k", partners), &queries, |b, q| {
            b.iter(|| scan.shortlists(q, 10, &|_| {}))
        });
    }
    group.finish();
}

criterion_group!(benches, score);
criterion_main!(benches);
