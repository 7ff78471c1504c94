//! Benchmark of top-k selection alone: 100,000 scored hits into a top-10 collector, with
//! random scores (the threshold prunes most) and ascending scores (the worst case: every hit
//! enters the buffer).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};

use sstc_match::engine::rank::{Hit, TopK};

fn top_k(c: &mut Criterion) {
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(42);
    let random: Vec<Hit> = (0..100_000)
        .map(|i| Hit { candidate: i, score: rng.gen() })
        .collect();
    let ascending: Vec<Hit> = (0..100_000)
        .map(|i| Hit { candidate: i, score: i as f32 })
        .collect();
    let mut group = c.benchmark_group("top_k");
    group.throughput(Throughput::Elements(100_000));
    for (name, hits) in [("random_100k", &random), ("ascending_100k", &ascending)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut top = TopK::new(10);
                for hit in hits {
                    top.push(*hit);
                }
                top.into_sorted()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, top_k);
criterion_main!(benches);
