//! Benchmark of the resource search (`Supporters::resource_lists`, the best ten funders and
//! facilitators of every partner in need) on two population sizes, in partners in need per
//! second: an exact search that reads a bounded number of backers per list keeps the rate
//! as the population grows fourfold. (The search that bounded every backer of the heaviest
//! need as if it backed every other need read about all backers of all needs: its rate fell
//! with the number of supporters, 50× the stage's time at 1M for 10× the partners.)

mod fixtures;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use sstc_match::engine::support::Supporters;
use sstc_match::PartnerIdx;

fn resources(c: &mut Criterion) {
    let mut group = c.benchmark_group("resources");
    group.sample_size(10);
    for n in [20_000usize, 80_000] {
        let (profiles, features) = fixtures::population(n);
        let supporters = Supporters::new(&profiles, &features);
        let all: Vec<PartnerIdx> = (0..features.len() as PartnerIdx).collect();
        let needy = supporters.in_need(&all);
        group.throughput(Throughput::Elements(needy.len() as u64));
        group.bench_with_input(BenchmarkId::new("top10_per_partner_in_need", n), &needy, |b, needy| {
            b.iter(|| supporters.resource_lists(needy, 10, &|_, _| true))
        });
    }
    group.finish();
}

criterion_group!(benches, resources);
criterion_main!(benches);
