//! `changes.csv`: what entered, left or moved in each list since the previous run, checked
//! against an independent diff of the two nights' shortlist files. The previous run is the
//! one published in `--out`, or `--previous DIR`; tonight's lists do not depend on it; a
//! night like the last one has no change; a previous run that cannot be read is an error
//! when named, a warning (and no changes file) when it is only the last night in `--out`.
//! Cluster numbers carry over: last night's centroids are kept while they fit, and a refit
//! is numbered after them.

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use util::{assert_same_files, code, csv_fields, csv_record, generated, ok, stderr, Csv, Dir};

/// partner → candidate → rank, from a run's shortlist.csv.
fn lists(run: &Path) -> BTreeMap<String, BTreeMap<String, u32>> {
    let csv = Csv::read(&run.join("shortlist.csv"));
    let mut lists: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for r in 0..csv.len() {
        lists.entry(csv.get(r, "partner_id")).or_default().insert(csv.get(r, "candidate_id"), csv.get(r, "rank").parse().unwrap());
    }
    lists
}

/// A row of changes.csv: (partner, change, candidate, rank, previous rank).
type Change = (String, String, String, String, String);

/// The changes between two shortlists, computed here from their files alone.
fn expected_changes(before: &Path, after: &Path) -> BTreeSet<Change> {
    let (old, new) = (lists(before), lists(after));
    let empty = BTreeMap::new();
    let mut changes = BTreeSet::new();
    for partner in old.keys().chain(new.keys()) {
        let (a, b) = (old.get(partner).unwrap_or(&empty), new.get(partner).unwrap_or(&empty));
        for (candidate, rank) in b {
            match a.get(candidate) {
                None => changes.insert((partner.clone(), "entered".into(), candidate.clone(), rank.to_string(), String::new())),
                Some(was) if was != rank => changes.insert((partner.clone(), "moved".into(), candidate.clone(), rank.to_string(), was.to_string())),
                Some(_) => false,
            };
        }
        for (candidate, was) in a.iter().filter(|(c, _)| !b.contains_key(*c)) {
            changes.insert((partner.clone(), "left".into(), candidate.clone(), String::new(), was.to_string()));
        }
    }
    changes
}

fn rows(changes: &Csv) -> Vec<Change> {
    (0..changes.len())
        .map(|r| (changes.get(r, "partner_id"), changes.get(r, "change"), changes.get(r, "candidate_id"), changes.get(r, "rank"), changes.get(r, "previous_rank")))
        .collect()
}

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

/// Night two from night one's rows (`generate`'s CSV): 40 removed, 40 new (copies under new
/// ids), 40 with another partner's needs and 40 deactivated. Returns the file and the ids
/// removed.
fn next_night(dir: &Dir, night_one: &Path) -> (String, BTreeSet<String>) {
    let text = std::fs::read_to_string(night_one).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let (id, needs, active) = (at("id"), at("needs"), at("active"));
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    assert!(rows.iter().all(|r| r.len() == columns.len()), "one record per line");
    let mut next = vec![header.to_string()];
    for (i, row) in rows.iter().enumerate() {
        let mut row = row.clone();
        match i {
            0..40 => continue,
            40..80 => row[needs] = rows[(i * 7) % rows.len()][needs].clone(),
            80..120 => row[active] = "false".into(),
            _ => {}
        }
        next.push(csv_record(&row));
    }
    for row in &rows[200..240] {
        let mut row = row.clone();
        row[id] = format!("{}-b", row[id]);
        next.push(csv_record(&row));
    }
    let path = dir.write("night-two.csv", &(next.join("\n") + "\n"));
    (path.display().to_string(), rows[..40].iter().map(|r| r[id].clone()).collect())
}

/// Night one (3,000 generated partners) published in `one`; returns night two's profiles
/// and the ids it removed.
fn first_night(dir: &Dir) -> (String, BTreeSet<String>) {
    let one = generated(dir, 3000, 7);
    ok(dir, &["run", "--profiles", one.to_str().unwrap(), "--out", "one", "--quiet"]);
    next_night(dir, &one)
}

#[test]
fn changes_are_the_difference_of_the_two_nights_shortlists() {
    let dir = Dir::new();
    let (two, removed) = first_night(&dir);
    assert!(!dir.path("one/changes.csv").exists(), "a first night has nothing to compare with");
    assert!(manifest(&dir.path("one")).get("changes").is_none());

    // Night two, compared with night one named by --previous, and alone.
    ok(&dir, &["run", "--profiles", &two, "--out", "two", "--previous", "one", "--quiet"]);
    ok(&dir, &["run", "--profiles", &two, "--out", "two-alone", "--quiet"]);
    // Tonight's lists do not depend on the previous run; its cluster numbers do (below).
    let clustered = ["manifest.json", "centroids.json", "clusters.csv", "shortlist.csv", "shortlist.parquet"];
    let compared = assert_same_files(&dir.path("two-alone"), &dir.path("two"), &clustered);
    assert!(compared.len() >= 6, "{compared:?}");
    let without_clusters = |run: &str| {
        let csv = Csv::read(&dir.path(&format!("{run}/shortlist.csv")));
        let columns: Vec<String> = csv.table.column_names().iter().filter(|c| !c.ends_with("_cluster")).cloned().collect();
        (0..csv.len()).map(|r| columns.iter().map(|c| csv.get(r, c)).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    assert_eq!(without_clusters("two-alone"), without_clusters("two"));

    let changes = Csv::read(&dir.path("two/changes.csv"));
    let written = rows(&changes);
    let expected = expected_changes(&dir.path("one"), &dir.path("two"));
    assert_eq!(written.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(written.len(), expected.len(), "no row twice");
    for kind in ["entered", "left", "moved"] {
        assert!(expected.iter().any(|c| c.1 == kind), "the edits make some row {kind}");
    }

    // Order: by partner id; within a list, tonight's rows by rank, then those that left by
    // their previous rank.
    for pair in written.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(a.0 <= b.0, "by partner: {a:?} {b:?}");
        if a.0 == b.0 {
            let key = |c: &Change| if c.1 == "left" { (1, c.4.parse::<u32>().unwrap()) } else { (0, c.3.parse::<u32>().unwrap()) };
            assert!(key(a) < key(b), "within a list: {a:?} {b:?}");
        }
    }

    // Names are tonight's; an id no longer in the profiles has none.
    for r in 0..changes.len() {
        for side in ["partner", "candidate"] {
            let id = changes.get(r, &format!("{side}_id"));
            assert_eq!(changes.get(r, &format!("{side}_name")).is_empty(), removed.contains(&id), "row {r}: {side} {id}");
        }
        assert_eq!(changes.get(r, "run_id"), manifest(&dir.path("two"))["run_id"].as_str().unwrap());
        assert_eq!(changes.get(r, "previous_run_id"), manifest(&dir.path("one"))["run_id"].as_str().unwrap());
    }
    assert!(written.iter().any(|c| removed.contains(&c.0)) && written.iter().any(|c| removed.contains(&c.2)), "removed partners' lists and places left");

    // The manifest counts the rows and the lists.
    let counts = &manifest(&dir.path("two"))["changes"];
    let count = |kind: &str| expected.iter().filter(|c| c.1 == kind).count() as u64;
    for kind in ["entered", "left", "moved"] {
        assert_eq!(counts[kind].as_u64().unwrap(), count(kind), "{kind}");
    }
    let (old, new) = (lists(&dir.path("one")), lists(&dir.path("two")));
    let both: Vec<&String> = old.keys().filter(|p| new.contains_key(*p)).collect();
    assert_eq!(counts["lists_compared"].as_u64().unwrap(), both.len() as u64);
    assert_eq!(counts["lists_changed"].as_u64().unwrap(), both.iter().filter(|p| old[**p] != new[**p]).count() as u64);
    assert_eq!(counts["lists_added"].as_u64().unwrap(), new.keys().filter(|p| !old.contains_key(*p)).count() as u64);
    assert_eq!(counts["lists_dropped"].as_u64().unwrap(), old.keys().filter(|p| !new.contains_key(*p)).count() as u64);
    assert_eq!(counts["previous_dir"].as_str().unwrap(), "one");

    // Parquet holds the same rows.
    ok(&dir, &["run", "--profiles", &two, "--out", "two-parquet", "--previous", "one", "--formats", "parquet", "--quiet"]);
    assert!(!dir.path("two-parquet/changes.csv").exists());
    let parquet = Csv { table: sstc_match::io::table::StringTable::read(&sstc_match::io::table::TableSource::File(dir.path("two-parquet/changes.parquet"))).unwrap() };
    assert_eq!(rows(&parquet), written);

    // A previous night that wrote only CSV (ids, names and sentences quoted, some with
    // commas) gives the same changes.
    ok(&dir, &["run", "--profiles", dir.path("g3000-7.csv").to_str().unwrap(), "--out", "one-csv", "--formats", "csv", "--quiet"]);
    ok(&dir, &["run", "--profiles", &two, "--out", "two-from-csv", "--previous", "one-csv", "--quiet"]);
    assert_eq!(std::fs::read(dir.path("two-from-csv/changes.csv")).unwrap(), std::fs::read(dir.path("two/changes.csv")).unwrap());

    // The run published in --out is the default previous run: the same changes.
    ok(&dir, &["run", "--profiles", &two, "--out", "one", "--quiet"]);
    assert_same_files(&dir.path("two"), &dir.path("one"), &["manifest.json"]);
}

#[test]
fn a_night_like_the_last_changes_nothing() {
    let dir = Dir::new();
    ok(&dir, &["run", "--out", "night", "--quiet"]);
    ok(&dir, &["run", "--out", "again", "--previous", "night", "--quiet"]);
    assert_eq!(Csv::read(&dir.path("again/changes.csv")).len(), 0);
    let counts = &manifest(&dir.path("again"))["changes"];
    assert_eq!(counts["lists_compared"], manifest(&dir.path("night"))["counts"]["shortlists"]);
    for key in ["lists_changed", "lists_added", "lists_dropped", "entered", "left", "moved"] {
        assert_eq!(counts[key].as_u64(), Some(0), "{key}");
    }
}

#[test]
fn a_named_previous_run_must_be_readable_the_last_night_in_out_need_not_be() {
    let dir = Dir::new();
    for previous in ["nowhere", "shard"] {
        if previous == "shard" {
            ok(&dir, &["run", "--out", "shard", "--shard", "0/2", "--quiet"]);
        }
        let output = dir.run(&["run", "--out", "night", "--previous", previous, "--quiet"]);
        assert_eq!(code(&output), 2, "{}", stderr(&output));
        assert!(stderr(&output).contains(&format!("{previous}: not a finished sstc-match run")), "{}", stderr(&output));
        assert!(!dir.path("night").exists(), "refused before any work");
    }

    // A named previous run is checked before anything else, the profiles included; one
    // whose shortlist was edited after it ran is refused when it is read.
    ok(&dir, &["run", "--out", "good", "--formats", "csv", "--quiet"]);
    std::fs::create_dir(dir.path("bad")).unwrap();
    for file in ["manifest.json", "shortlist.csv"] {
        std::fs::copy(dir.path(&format!("good/{file}")), dir.path(&format!("bad/{file}"))).unwrap();
    }
    std::fs::remove_file(dir.path("bad/shortlist.csv")).unwrap();
    let output = dir.run(&["run", "--profiles", "no-such-file.csv", "--out", "night", "--previous", "bad", "--quiet"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("bad/shortlist.csv: missing"), "{}", stderr(&output));
    let shortlist = std::fs::read_to_string(dir.path("good/shortlist.csv")).unwrap();
    let edited: String = shortlist.lines().enumerate().filter(|(i, _)| *i != 3).map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(dir.path("bad/shortlist.csv"), edited).unwrap();
    let output = dir.run(&["run", "--out", "night", "--previous", "bad", "--quiet"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("bad/shortlist.csv: changed after the run"), "{}", stderr(&output));
    assert!(!dir.path("night").exists());

    // Last night's shortlist was removed by hand: tonight is still published, with a
    // warning and no changes file.
    ok(&dir, &["run", "--out", "night", "--quiet"]);
    std::fs::remove_file(dir.path("night/shortlist.parquet")).unwrap();
    let output = dir.run(&["run", "--out", "night", "--quiet"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("changes.csv not written: the previous run in --out cannot be read"), "{}", stderr(&output));
    assert!(stderr(&output).contains("shortlist.parquet: missing"), "{}", stderr(&output));
    assert!(dir.path("night/shortlist.parquet").exists() && !dir.path("night/changes.csv").exists());
    assert!(manifest(&dir.path("night")).get("changes").is_none());

    // Or edited: the same, and nothing compared with rows that were never published.
    let mut parquet = std::fs::read(dir.path("night/shortlist.parquet")).unwrap();
    parquet.push(b'\n');
    std::fs::write(dir.path("night/shortlist.parquet"), parquet).unwrap();
    let output = dir.run(&["run", "--out", "night", "--quiet"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("shortlist.parquet: changed after the run"), "{}", stderr(&output));
    assert!(!dir.path("night/changes.csv").exists());
}

/// partner → cluster number, from a run's shortlist.csv.
fn clusters_of(run: &Path) -> BTreeMap<String, String> {
    let csv = Csv::read(&run.join("shortlist.csv"));
    (0..csv.len()).map(|r| (csv.get(r, "partner_id"), csv.get(r, "partner_cluster"))).collect()
}

/// The share of partners listed on both nights whose cluster number is the same.
fn same_cluster(before: &Path, after: &Path) -> f64 {
    let (a, b) = (clusters_of(before), clusters_of(after));
    let both: Vec<&String> = a.keys().filter(|p| b.contains_key(*p)).collect();
    both.iter().filter(|p| a[**p] == b[**p]).count() as f64 / both.len() as f64
}

#[test]
fn cluster_numbers_carry_over_from_night_to_night() {
    let dir = Dir::new();
    let (two, _) = first_night(&dir);

    // An ordinary night keeps last night's centroids: partners keep their numbers.
    ok(&dir, &["run", "--profiles", &two, "--out", "two", "--previous", "one", "--quiet"]);
    ok(&dir, &["run", "--profiles", &two, "--out", "two-alone", "--quiet"]);
    let continuity = &manifest(&dir.path("two"))["model"]["continuity"];
    assert_eq!(continuity["decision"], "kept", "{continuity}");
    let ratio = continuity["inertia_previous"].as_f64().unwrap() / continuity["inertia_refit"].as_f64().unwrap();
    assert!(ratio <= 1.05, "{continuity}");
    let centroids = |run: &str| serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.path(&format!("{run}/centroids.json"))).unwrap()).unwrap()["centroids"].clone();
    assert_eq!(centroids("two"), centroids("one"));
    assert_eq!(manifest(&dir.path("two"))["model"]["reused_from"], "one/centroids.json");
    let (kept, afresh) = (same_cluster(&dir.path("one"), &dir.path("two")), same_cluster(&dir.path("one"), &dir.path("two-alone")));
    assert!(kept >= 0.99 && afresh < 0.5, "kept {kept}, afresh {afresh}");
    assert!(manifest(&dir.path("two-alone"))["model"].get("continuity").is_none());

    // An automatic k that tonight's size would move by one keeps last night's k while its
    // centroids fit (1,500 partners: 9 clusters; 1,485: 8 by the default).
    let (a, b) = (generated(&dir, 1500, 7), generated(&dir, 1485, 7));
    ok(&dir, &["run", "--profiles", a.to_str().unwrap(), "--out", "k-one", "--quiet"]);
    ok(&dir, &["run", "--profiles", b.to_str().unwrap(), "--out", "k-two", "--previous", "k-one", "--quiet"]);
    ok(&dir, &["run", "--profiles", b.to_str().unwrap(), "--out", "k-alone", "--quiet"]);
    let k = |run: &str| manifest(&dir.path(run))["model"]["k"].as_u64().unwrap();
    assert_eq!((k("k-one"), k("k-alone")), (9, 8), "the default k moves");
    assert_eq!(manifest(&dir.path("k-two"))["model"]["continuity"]["decision"], "kept");
    assert_eq!(k("k-two"), 9);
    assert!(same_cluster(&dir.path("k-one"), &dir.path("k-two")) >= 0.99);

    // Another number of clusters asked for is a refit, numbered after last night's centroids.
    ok(&dir, &["run", "--profiles", &two, "--out", "refit", "--previous", "one", "--clusters", "10", "--quiet"]);
    ok(&dir, &["run", "--profiles", &two, "--out", "refit-alone", "--clusters", "10", "--quiet"]);
    assert_eq!(manifest(&dir.path("refit"))["model"]["continuity"]["decision"], "refitted");
    let (numbered, afresh) = (same_cluster(&dir.path("one"), &dir.path("refit")), same_cluster(&dir.path("one"), &dir.path("refit-alone")));
    assert!(numbered > afresh + 0.2, "numbered {numbered}, afresh {afresh}");
    let rows = |run: &str| {
        let mut rows: Vec<String> = centroids(run).as_array().unwrap().iter().map(|r| r.to_string()).collect();
        rows.sort();
        rows
    };
    assert_eq!(rows("refit"), rows("refit-alone"), "the same centroids, renumbered");
}

#[test]
fn a_campaign_of_what_is_new_proposes_only_pairs_that_entered_their_list() {
    let dir = Dir::new();
    let (two, _) = first_night(&dir);
    let refused = dir.run(&["campaign", "--run", "one", "--out", "first", "--new-only"]);
    assert_eq!(code(&refused), 2, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("one: the run wrote no changes.csv"), "{}", stderr(&refused));
    assert!(!dir.path("first").exists());

    ok(&dir, &["run", "--profiles", &two, "--out", "two", "--previous", "one", "--quiet"]);
    ok(&dir, &["campaign", "--run", "two", "--out", "new", "--new-only"]);
    ok(&dir, &["campaign", "--run", "two", "--out", "all"]);
    let changes = Csv::read(&dir.path("two/changes.csv"));
    let entered: BTreeSet<(String, String)> =
        (0..changes.len()).filter(|&r| changes.get(r, "change") == "entered").map(|r| (changes.get(r, "partner_id"), changes.get(r, "candidate_id"))).collect();
    let campaign = Csv::read(&dir.path("new/campaign.csv"));
    assert!(campaign.len() > 0);
    for r in 0..campaign.len() {
        assert!(entered.contains(&(campaign.get(r, "partner_id"), campaign.get(r, "candidate_id"))), "row {r} is not new");
    }
    let summary = |run: &str| serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.path(&format!("{run}/campaign.json"))).unwrap()).unwrap();
    let rows = Csv::read(&dir.path("two/shortlist.csv")).len() as u64;
    assert_eq!(summary("new")["not_new"].as_u64().unwrap(), rows - entered.len() as u64, "every row entered is in the shortlist");
    assert!(summary("all").get("not_new").is_none());
    assert!(summary("new")["proposals"].as_u64() < summary("all")["proposals"].as_u64());

    // Triads have no record of what is new: not together.
    let refused = dir.run(&["campaign", "--run", "two", "--out", "both", "--new-only", "--triads"]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("cannot be used with"), "{}", stderr(&refused));

    // A night like the last has nothing new (totals 0, not -0).
    std::fs::copy(dir.path("two/changes.parquet"), dir.path("last-changes.parquet")).unwrap();
    ok(&dir, &["run", "--profiles", &two, "--out", "two", "--quiet"]);
    ok(&dir, &["campaign", "--run", "two", "--out", "none-new", "--new-only"]);
    assert_eq!(summary("none-new")["proposals"], 0);
    assert!(std::fs::read_to_string(dir.path("none-new/campaign.json")).unwrap().contains("\"allocated_score\": 0.0,"));

    // Another night's changes are not this night's.
    std::fs::copy(dir.path("last-changes.parquet"), dir.path("two/changes.parquet")).unwrap();
    let output = dir.run(&["campaign", "--run", "two", "--out", "swapped", "--new-only"]);
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(stderr(&output).contains("two/changes.parquet: changed after the run"), "{}", stderr(&output));
}
