//! `run --incremental`: a night ranked from the previous night's state equals a full run on
//! the same input, byte for byte (shortlists, resources, triads, rejects, clusters, changes,
//! run id), on random nights of edits (partners new, removed, deactivated, reactivated, given
//! other needs or offers, a theme made common or rare), in exact and blocked mode, at one and
//! two threads, with and without re-ranking, and on another day of dated exclusions. A night
//! ranks in full, and says why, when the state cannot be used: none, other settings, an
//! edited state, too much changed, or blocked mode with a probe limit.

mod util;

use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sstc_match::config::{default_score_settings, weights::default_weights};
use sstc_match::engine::features::{FeatureSettings, PartnerFeatures};
use sstc_match::engine::incremental::{full_bound, rank, resource_lists, score_shift, support_shift, Pool, PreviousPool};
use sstc_match::engine::support::Supporters;
use sstc_match::engine::rank::{Candidates, Scan, Shortlist};
use sstc_match::engine::rules::RuleSet;
use sstc_match::engine::score::columns::Columns;
use sstc_match::io::state::{identities, kept, Recorded};
use sstc_match::engine::ingest::{ingest, Ingested};
use sstc_match::engine::profile::{fingerprint, index_of, IdSet};
use sstc_match::engine::reference::Reference;
use sstc_match::engine::score::Scorer;
use sstc_match::io::table::TableSource;
use sstc_match::PartnerIdx;
use util::{assert_same_files, code, copy_run, csv_fields, csv_record, generated, ok, stderr, Csv, Dir};

/// The files only an incremental run writes.
const STATE: [&str; 3] = ["state-partners.parquet", "state-pools.parquet", "state-resources.parquet"];

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

/// A profile table as a header and rows of fields (`generate`'s CSV).
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn read(path: &Path) -> Table {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines().map(csv_fields);
        Table { header: lines.next().unwrap(), rows: lines.collect() }
    }

    fn write(&self, dir: &Dir, name: &str) -> String {
        let lines: Vec<String> = std::iter::once(&self.header).chain(&self.rows).map(|r| csv_record(r)).collect();
        dir.write(name, &(lines.join("\n") + "\n")).display().to_string()
    }

    fn at(&self, column: &str) -> usize {
        self.header.iter().position(|c| c == column).unwrap()
    }

    /// One night of `edits` random edits, of every kind (`night` names the new ids).
    /// `edits` ≥ 7.
    fn edit(&mut self, rng: &mut StdRng, edits: usize, night: usize) {
        let (id, needs, offers, active) = (self.at("id"), self.at("needs"), self.at("offers"), self.at("active"));
        let themes: Vec<String> = self.rows.iter().flat_map(|r| r[needs].split(';').map(String::from).collect::<Vec<_>>()).filter(|t| !t.is_empty()).collect();
        for e in 0..edits {
            let (i, other) = (rng.gen_range(0..self.rows.len()), rng.gen_range(0..self.rows.len()));
            match e % 7 {
                0 => drop(self.rows.remove(i)),
                1 => {
                    let mut row = self.rows[i].clone();
                    row[id] = format!("{}-n{night}-{e}", row[id]);
                    row[offers] = self.rows[other][offers].clone();
                    self.rows.push(row);
                }
                2 | 6 if e != 6 => self.rows[i][needs] = self.rows[other][needs].clone(),
                3 => self.rows[i][offers] = self.rows[other][offers].clone(),
                4 => self.rows[i][active] = "false".into(),
                5 => {
                    if let Some(row) = self.rows.iter_mut().find(|r| r[active] == "false") {
                        row[active] = "true".into();
                    }
                }
                _ => {
                    // Once a night, a theme made common (a wave of new partners offering and needing it)
                    // or rare (as many of those offering it leave): the rarity weights move.
                    let theme = themes.choose(rng).unwrap().clone();
                    let wave = self.rows.len() / 100;
                    if night.is_multiple_of(2) {
                        for w in 0..wave {
                            let mut row = self.rows[rng.gen_range(0..self.rows.len())].clone();
                            row[id] = format!("{}-w{night}-{e}-{w}", row[id]);
                            (row[offers], row[needs]) = (theme.clone(), theme.clone());
                            self.rows.push(row);
                        }
                    } else {
                        let offering: Vec<usize> = (0..self.rows.len()).filter(|&r| self.rows[r][offers].split(';').any(|t| t == theme)).take(wave).collect();
                        for r in offering.into_iter().rev() {
                            self.rows.remove(r);
                        }
                    }
                }
            }
        }
    }
}

/// A night's profiles and features.
type Night = (Ingested, PartnerFeatures);

/// A night's profiles and features (rarity on).
fn night(path: &str) -> Night {
    let ingested = ingest(&TableSource::File(path.into()), Reference::builtin()).unwrap();
    let features = PartnerFeatures::build(&ingested.profiles, &ingested.duplicates, Reference::builtin(), &FeatureSettings { rarity: 1.0, ..FeatureSettings::default() });
    (ingested, features)
}

#[test]
fn the_score_of_two_unchanged_partners_moves_at_most_by_the_shift() {
    let dir = Dir::new();
    let mut table = Table::read(&generated(&dir, 400, 5));
    let mut rng = StdRng::seed_from_u64(5);
    let before = night(&table.write(&dir, "before.csv"));
    table.edit(&mut rng, 14, 0);
    let after = night(&table.write(&dir, "after.csv"));
    // The partners of the same content on both nights, by index on each.
    let kept: Vec<(PartnerIdx, PartnerIdx)> = before.0.profiles.iter().enumerate().filter_map(|(i, p)| {
        let j = index_of(&after.0.profiles, &p.id)?;
        (fingerprint(p) == fingerprint(&after.0.profiles[j as usize])).then_some((i as PartnerIdx, j))
    }).collect();
    assert!(kept.len() > 350, "{}", kept.len());
    let needed = kept.iter().fold(IdSet::EMPTY, |themes, &(_, j)| themes.union(after.1.needs[j as usize]));
    let settings = default_score_settings(default_weights());
    let shift = score_shift(&before.1.theme_weight, &after.1.theme_weight, needed, &settings.weights);
    let compatibility = &Reference::builtin().actor_compatibility;
    let (was, is) = (Scorer::new(&before.1, compatibility, settings), Scorer::new(&after.1, compatibility, settings));
    let moved = kept.iter().flat_map(|&(a, b)| kept.iter().map(move |&(c, d)| (a, b, c, d))).map(|(a, b, c, d)| (is.score(b, d) - was.score(a, c)).abs()).fold(0.0f32, f32::max);
    // The bound holds, and is not loose by more than an order of magnitude here.
    assert!(moved <= shift && moved > shift / 10.0, "moved {moved}, shift {shift}");
}

/// The pools of every active partner of a night at `capacity`, by a full scan.
fn full_pools(night: &Night, capacity: usize) -> Vec<Shortlist> {
    let scorer = Scorer::new(&night.1, &Reference::builtin().actor_compatibility, default_score_settings(default_weights()));
    let rules = RuleSet::new(&night.0.duplicates, &[], None, None);
    let active: Vec<PartnerIdx> = (0..night.1.len() as PartnerIdx).filter(|&p| night.1.active[p as usize]).collect();
    Scan::new(scorer, &rules, Candidates::Owned(Box::new(Columns::in_index_order(&scorer)))).shortlists(&active, capacity, &|_| {}).0
}

/// Last night's `pools` (of `capacity`), by tonight's index, for the partners kept
/// ([`kept`], over every partner active last night, as the state records them); `None` for
/// the others.
fn kept_pools(before: &Night, after: &Night, pools: Vec<Shortlist>, capacity: usize) -> Vec<Option<PreviousPool>> {
    let (was, is) = (identities(&before.0.profiles, &before.0.duplicates), identities(&after.0.profiles, &after.0.duplicates));
    let tonight = |p: usize| index_of(&after.0.profiles, &before.0.profiles[p].id);
    let recorded: Vec<Recorded> = (0..before.1.len()).filter(|&p| before.1.active[p]).map(|p| Recorded { index: tonight(p), fingerprint: was[p].fingerprint, group: was[p].group_id(&before.0.profiles) }).collect();
    let kept = kept(&recorded, &is, &after.1.active);
    let mut previous: Vec<Option<PreviousPool>> = vec![None; after.1.len()];
    for pool in pools {
        if let Some(p) = tonight(pool.partner as usize).filter(|&p| kept[p as usize]) {
            let candidates = pool.hits.iter().filter_map(|h| tonight(h.candidate as usize)).collect();
            previous[p as usize] = Some(PreviousPool { candidates, bound: full_bound(&pool.hits, capacity) });
        }
    }
    previous
}

/// Twelve nights of 14 edits of 400 partners, ranked from the night before with pools of
/// depth 1 to 3 and a margin of 0 or 1, so that they stand or fall on the bound and the
/// shift: `rank_night(before, after, (depth, margin))` gives the night's pools and the exact
/// pools of a full search (`depth + margin` each), and how many it settled. Checks that the
/// first `depth` of each pool are the exact ones and that its bound holds for every candidate
/// left out; returns the lists settled.
fn short_pool_nights(rank_night: impl Fn(&Night, &Night, (usize, usize)) -> (Vec<Pool>, Vec<Shortlist>, usize)) -> usize {
    let mut settled = 0;
    for seed in 0..12u64 {
        let (depth, margin) = (1 + seed as usize % 3, seed as usize % 2);
        let dir = Dir::new();
        let mut table = Table::read(&generated(&dir, 400, seed));
        let before = night(&table.write(&dir, "before.csv"));
        table.edit(&mut StdRng::seed_from_u64(seed), 14, 0);
        let after = night(&table.write(&dir, "after.csv"));
        let (pools, exact, count) = rank_night(&before, &after, (depth, margin));
        for (pool, exact) in pools.iter().zip(&exact) {
            assert_eq!(pool.list.truncated(depth), exact.truncated(depth), "seed {seed}");
            let left_out = exact.hits.iter().filter(|h| !pool.list.hits.iter().any(|x| x.candidate == h.candidate));
            assert!(left_out.clone().all(|h| h.score <= pool.bound), "seed {seed}: bound {} below a candidate left out", pool.bound);
        }
        settled += count;
    }
    settled
}

#[test]
fn lists_settled_from_short_pools_equal_a_full_scan() {
    let settled = short_pool_nights(|before, after, (depth, margin)| {
        let previous = kept_pools(before, after, full_pools(before, depth + margin), depth + margin);
        let settings = default_score_settings(default_weights());
        let shift = score_shift(&before.1.theme_weight, &after.1.theme_weight, kept_needs(after, &previous), &settings.weights);
        let scorer = Scorer::new(&after.1, &Reference::builtin().actor_compatibility, settings);
        let active: Vec<PartnerIdx> = (0..after.1.len() as PartnerIdx).filter(|&p| after.1.active[p as usize]).collect();
        let rules = RuleSet::new(&after.0.duplicates, &[], None, None);
        let (pools, _, counts) = rank(&scorer, &rules, &active, &previous, (depth, margin), shift, &|_| {});
        (pools, full_pools(after, depth + margin), counts.settled)
    });
    assert!(settled > 1000, "{settled}");
}

/// The resource lists of a night's partners in need at `capacity`, by a full search.
fn full_resource_pools(night: &Night, capacity: usize) -> Vec<Shortlist> {
    let supporters = Supporters::new(&night.0.profiles, &night.1);
    let rules = RuleSet::new(&night.0.duplicates, &[], None, None);
    let needy = supporters.in_need(&(0..night.1.len() as PartnerIdx).collect::<Vec<_>>());
    let lists = supporters.resource_lists(&needy, capacity, &|s, b| rules.admits_support(&night.1, s, b));
    needy.into_iter().zip(lists).map(|(partner, hits)| Shortlist { partner, hits }).collect()
}

/// The themes needed by the partners in need whose resource pool was kept.
fn kept_needs(after: &Night, previous: &[Option<PreviousPool>]) -> IdSet {
    (0..after.1.len()).filter(|&p| previous[p].is_some()).fold(IdSet::EMPTY, |themes, p| themes.union(after.1.needs[p]))
}

#[test]
fn the_support_of_an_unchanged_supporter_for_an_unchanged_partner_moves_at_most_by_the_support_shift() {
    let dir = Dir::new();
    let mut table = Table::read(&generated(&dir, 400, 5));
    let before = night(&table.write(&dir, "before.csv"));
    table.edit(&mut StdRng::seed_from_u64(5), 14, 0);
    let after = night(&table.write(&dir, "after.csv"));
    // The kept partners: those whose pool (an empty one for everyone) kept_pools keeps.
    let everyone = |n: &Night| (0..n.1.len() as PartnerIdx).map(|partner| Shortlist { partner, hits: Vec::new() }).collect();
    let kept: Vec<PartnerIdx> = kept_pools(&before, &after, everyone(&before), 1).iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i as PartnerIdx).collect();
    assert!(kept.len() > 350, "{}", kept.len());
    let (was, is) = (Supporters::new(&before.0.profiles, &before.1), Supporters::new(&after.0.profiles, &after.1));
    let needy = is.in_need(&kept);
    let needs = needy.iter().fold(IdSet::EMPTY, |themes, &b| themes.union(after.1.needs[b as usize]));
    let shift = support_shift(&before.1.theme_weight, &after.1.theme_weight, needs);
    let then = |p: PartnerIdx| index_of(&before.0.profiles, &after.0.profiles[p as usize].id).unwrap();
    let mut pairs = 0;
    let mut moved = 0.0f32;
    for &s in &kept {
        for &b in &needy {
            if let (Some(now), Some(last)) = (is.support(s, b), was.support(then(s), then(b))) {
                moved = moved.max((now.score - last.score).abs());
                pairs += 1;
            }
        }
    }
    assert!(pairs > 1000, "{pairs}");
    // The bound holds, and is not loose by more than an order of magnitude here.
    assert!(moved <= shift && moved > shift / 10.0, "moved {moved}, shift {shift}");
}

#[test]
fn resource_lists_settled_from_short_pools_equal_a_full_search() {
    let settled = short_pool_nights(|before, after, (depth, margin)| {
        let previous = kept_pools(before, after, full_resource_pools(before, depth + margin), depth + margin);
        let kept = kept_pools(before, after, full_pools(before, 1), 1);
        let shift = support_shift(&before.1.theme_weight, &after.1.theme_weight, kept_needs(after, &previous));
        let supporters = Supporters::new(&after.0.profiles, &after.1);
        let rules = RuleSet::new(&after.0.duplicates, &[], None, None);
        let exact = full_resource_pools(after, depth + margin);
        let needy: Vec<PartnerIdx> = exact.iter().map(|l| l.partner).collect();
        let admits = |s, b| rules.admits_support(&after.1, s, b);
        let (pools, counts) = resource_lists(&supporters, &needy, &previous, (depth, margin), shift, &|p| kept[p as usize].is_some(), &admits);
        (pools, exact, counts.settled)
    });
    assert!(settled > 500, "{settled}");
}

/// Runs `night` (a profile file) incrementally into `inc` and in full into `full`, each over
/// its own last night, and checks they published the same run; returns the incremental
/// record.
fn same_night(dir: &Dir, night: &str, args: &[&str]) -> serde_json::Value {
    let run = |out: &str, extra: &[&str]| ok(dir, &[&["run", "--profiles", night, "--out", out, "--quiet"], args, extra].concat());
    run("inc", &["--incremental"]);
    run("full", &[]);
    let (inc, full) = (dir.path("inc"), dir.path("full"));
    let compared = assert_same_files(&full, &inc, &["manifest.json"]);
    assert!(["shortlist.csv", "shortlist.parquet", "resources.csv", "triads.csv", "rejects.csv", "clusters.csv"].iter().all(|f| compared.iter().any(|c| c == f)), "{compared:?}");
    let extra: Vec<String> = std::fs::read_dir(&inc).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| !compared.contains(n) && n != "manifest.json").collect();
    assert!(extra.iter().all(|n| STATE.contains(&n.as_str())), "{extra:?}");
    let (mut inc, mut full) = (manifest(&inc), manifest(&full));
    assert_eq!(inc["run_id"], full["run_id"], "an incremental night has the full run's id");
    for changes in [&mut inc["changes"], &mut full["changes"]].into_iter().filter_map(|c| c.as_object_mut()) {
        changes.remove("previous_dir");
    }
    assert_eq!(inc["changes"], full["changes"]);
    assert!(full.get("incremental").is_none());
    inc["incremental"].clone()
}

/// Nights of 2 % random edits of `partners`, and one of 50 %: each equals the full run;
/// the small ones are ranked from the state, keeping most lists.
fn nights_equal_full_runs(seed: u64, partners: usize, args: &[&str]) {
    let dir = Dir::new();
    let mut table = Table::read(&generated(&dir, partners, seed));
    let mut rng = StdRng::seed_from_u64(seed);
    for night in 0..5 {
        let file = table.write(&dir, &format!("night-{night}.csv"));
        let record = same_night(&dir, &file, args);
        let active = table.rows.iter().filter(|r| r[table.at("active")] == "true").count() as u64;
        match night {
            0 => assert_eq!(record["reason"], "no previous run in --out", "{record}"),
            3 => {
                assert_eq!(record["ranked"], "full", "{record}");
                assert!(record["reason"].as_str().unwrap().contains("are new or changed, more than 15 %"), "{record}");
            }
            _ => {
                assert_eq!(record["ranked"], "incremental", "{record}");
                assert!(record["settled"].as_u64().unwrap() > active / 2, "{record}");
                assert!(record["shift"].as_f64().unwrap() > 0.0, "{record}");
                // Resource lists stand on last night's pool and the fresh supporters: most of
                // them with the default margin (10), some with a margin of 1.
                let (settled, recomputed) = (record["resources_settled"].as_u64().unwrap(), record["resources_recomputed"].as_u64().unwrap());
                assert!(settled > if args.contains(&"--resource-k") { 0 } else { recomputed }, "{record}");
            }
        }
        table.edit(&mut rng, if night == 2 { partners / 2 } else { partners / 50 }, night);
    }
}

#[test]
fn incremental_nights_equal_full_runs_in_exact_mode_at_one_thread() {
    nights_equal_full_runs(11, 2000, &["--threads", "1"]);
}

#[test]
fn incremental_nights_equal_full_runs_in_exact_mode_at_two_threads() {
    nights_equal_full_runs(12, 2000, &["--threads", "2"]);
}

#[test]
fn incremental_nights_equal_full_runs_with_short_lists() {
    // Margins of 2 (lists) and 1 (resource lists), and few partners (a theme made rare or
    // common moves the rarity weights far): lists often stand or fall on the bound.
    for seed in 20..36 {
        nights_equal_full_runs(seed, 300, &["--threads", "2", "--top-k", "2", "--resource-k", "1"]);
    }
}

#[test]
fn incremental_nights_equal_full_runs_with_re_ranking() {
    nights_equal_full_runs(13, 2000, &["--threads", "2", "--diversity", "0.7"]);
}

#[test]
fn incremental_nights_equal_full_runs_in_blocked_mode_without_a_probe_limit() {
    nights_equal_full_runs(14, 2000, &["--threads", "2", "--mode", "blocked", "--probe", "0"]);
}

#[test]
fn another_day_of_dated_exclusions_reopens_only_the_lists_it_moves() {
    let dir = Dir::new();
    let night = generated(&dir, 1000, 18).display().to_string();
    // 200 pairs that top their list, contacted on days spread over April to mid-June.
    ok(&dir, &["run", "--profiles", &night, "--out", "probe", "--quiet"]);
    let shortlist = Csv::read(&dir.path("probe/shortlist.csv"));
    let tops: Vec<String> = (0..shortlist.len()).filter(|&r| shortlist.get(r, "rank") == "1").take(200).enumerate().map(|(i, r)| format!("{},{},2026-{:02}-{:02}", shortlist.get(r, "partner_id"), shortlist.get(r, "candidate_id"), 4 + i / 80, 1 + i % 28)).collect();
    dir.write("contacted.csv", &format!("source_id,target_id,date\n{}\n", tops.join("\n")));
    let on = |day: &'static str, days: &'static str| ["--exclusions", "contacted.csv", "--exclusion-days", days, "--as-of", day];
    same_night(&dir, &night, &on("2026-06-01", "30"));
    let record = same_night(&dir, &night, &on("2026-06-15", "30"));
    assert_eq!(record["ranked"], "incremental", "{record}");
    let fresh = record["fresh"].as_u64().unwrap();
    assert!(fresh > 0 && fresh <= 400, "the partners of the pairs whose exclusion ended: {record}");
    // Another window is another rule.
    let record = same_night(&dir, &night, &on("2026-06-15", "60"));
    assert_eq!(record["reason"], "settings changed since the previous run: exclusions", "{record}");
}

#[test]
fn a_night_without_change_keeps_every_list_and_every_output() {
    let dir = Dir::new();
    let night = generated(&dir, 2000, 15).display().to_string();
    ok(&dir, &["run", "--profiles", &night, "--out", "inc", "--incremental", "--quiet"]);
    let before = dir.path("before");
    copy_run(&dir.path("inc"), &before);
    ok(&dir, &["run", "--profiles", &night, "--out", "inc", "--incremental", "--quiet"]);
    let record = manifest(&dir.path("inc"))["incremental"].clone();
    assert_eq!((record["ranked"].as_str(), record["fresh"].as_u64(), record["recomputed"].as_u64()), (Some("incremental"), Some(0), Some(0)), "{record}");
    // Everything but the manifest and what changed (nothing) is last night's, byte for byte.
    let compared = assert_same_files(&before, &dir.path("inc"), &["manifest.json", "changes.csv", "changes.parquet"]);
    assert!(compared.iter().any(|n| n == "shortlist.parquet") && compared.iter().any(|n| n == "state-pools.parquet"), "{compared:?}");
    assert_eq!(manifest(&dir.path("inc"))["changes"]["entered"], 0);
}

#[test]
fn a_night_ranks_in_full_and_says_why_when_the_state_cannot_be_used() {
    let dir = Dir::new();
    let night = generated(&dir, 1000, 16).display().to_string();
    let run = |extra: &[&str]| {
        ok(&dir, &[&["run", "--profiles", &night, "--out", "inc", "--incremental", "--quiet"], extra].concat());
        manifest(&dir.path("inc"))["incremental"].clone()
    };
    // A previous run made without --incremental left no state.
    ok(&dir, &["run", "--profiles", &night, "--out", "inc", "--quiet"]);
    let record = run(&[]);
    assert!(record["reason"].as_str().unwrap().contains("left no incremental state (it ran without --incremental"), "{record}");
    assert_eq!(run(&[])["ranked"], "incremental");
    // Other weights change every score.
    let record = run(&["--weight", "geography=0.4"]);
    assert_eq!(record["reason"], "settings changed since the previous run: weights", "{record}");
    // A state edited after its run is not trusted.
    let pools = dir.path("inc/state-pools.parquet");
    let mut bytes = std::fs::read(&pools).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&pools, bytes).unwrap();
    let record = run(&["--weight", "geography=0.4"]);
    assert!(record["reason"].as_str().unwrap().contains("state-pools.parquet: changed after the run"), "{record}");
    // Blocked mode with a probe limit ranks in full, at the run's depth, and writes no state.
    let record = run(&["--mode", "blocked"]);
    assert!(record["reason"].as_str().unwrap().starts_with("blocked mode with a --probe limit"), "{record}");
    assert!(record["state"].is_null() && !dir.path("inc/state-pools.parquet").exists(), "{record}");
    ok(&dir, &["run", "--profiles", &night, "--out", "blocked", "--mode", "blocked", "--quiet"]);
    assert_same_files(&dir.path("blocked"), &dir.path("inc"), &["manifest.json", "changes.csv", "changes.parquet"]);
    // A sharded night is not incremental.
    let output = dir.run(&["run", "--profiles", &night, "--out", "shard", "--shard", "1/2", "--incremental", "--quiet"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("an incremental night runs on one machine"), "{}", stderr(&output));
}

#[test]
fn a_registered_duplicate_keeps_its_partners_list_and_a_split_group_reopens_both_sides() {
    let dir = Dir::new();
    let mut table = Table::read(&generated(&dir, 1000, 19));
    let base = table.write(&dir, "base.csv");
    same_night(&dir, &base, &[]);
    // p, alone, and q, alone, with an email, on p's list: what a split must give back to p.
    let duplicates = Csv::read(&dir.path("full/duplicates.csv"));
    let grouped: Vec<String> = [duplicates.column("id_a"), duplicates.column("id_b")].concat();
    let pairs = |dir: &Dir| {
        let shortlist = Csv::read(&dir.path("full/shortlist.csv"));
        shortlist.column("partner_id").into_iter().zip(shortlist.column("candidate_id")).collect::<Vec<(String, String)>>()
    };
    let alone = |id: &str| !grouped.iter().any(|g| g == id);
    let row_of = |table: &Table, id: &str| table.rows.iter().position(|r| r[table.at("id")] == id).unwrap();
    let email = table.at("contact_email");
    let (p, q) = pairs(&dir).into_iter().find(|(p, q)| alone(p) && alone(q) && !table.rows[row_of(&table, q)][email].is_empty()).unwrap();
    let on_list = || pairs(&dir).contains(&(p.clone(), q.clone()));
    assert!(on_list());
    let night = |table: &Table, name: &str| {
        let record = same_night(&dir, &table.write(&dir, name), &[]);
        assert_eq!(record["ranked"], "incremental", "{record}");
        record["fresh"].as_u64().unwrap()
    };
    // r: p's name and country, q's email: p, q and r are one group, and q leaves p's list. p
    // and q only lost pairs: they are kept; r is new.
    let mut r = table.rows[row_of(&table, &p)].clone();
    (r[table.at("id")], r[email]) = (format!("{p}-r"), table.rows[row_of(&table, &q)][email].clone());
    table.rows.push(r);
    assert_eq!(night(&table, "joined.csv"), 1);
    assert!(!on_list(), "one group: never proposed to each other");
    // r leaves: the group splits, p and q may be proposed to each other again, and both are
    // fresh (their pools could not hold each other).
    table.rows.pop();
    assert_eq!(night(&table, "split.csv"), 2);
    assert!(on_list());
    // p registered twice, then a third time (a group of two kept records takes in a third):
    // each night, only the new copy is fresh.
    for time in ["twice", "thrice"] {
        let mut copy = table.rows[row_of(&table, &p)].clone();
        copy[table.at("id")] = format!("{p}-{time}");
        table.rows.push(copy);
        assert_eq!(night(&table, &format!("registered_{time}.csv")), 1);
    }
}
