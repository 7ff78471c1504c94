//! Command-line behaviour a user and a scheduler rely on: exit codes, error messages that
//! name what to fix, outputs that survive a failed run, both input formats, model reuse.

mod util;

use util::{code, repo, stderr, Csv, Dir};

const HEADER: &str = "id,name,actor_type,country_iso3,city,offers,needs";
const GOOD: &str = "\
a,Alpha,local_authority,SEN,Dakar,urban_development,informal_economy
b,Beta,sse_unit,SEN,Thiès,informal_economy,urban_development
c,Gamma,workers_organisation,CIV,Abidjan,labour_rights,informal_economy";

fn run(dir: &Dir, profiles: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--profiles", profiles, "--out", "out", "--model-dir", "model", "-q"];
    args.extend_from_slice(extra);
    dir.run(&args)
}

#[test]
fn clean_input_exits_0_and_writes_every_output() {
    let dir = Dir::new();
    dir.write("p.csv", &format!("{HEADER}\n{GOOD}\n"));
    let output = run(&dir, "p.csv", &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    for file in ["shortlist.csv", "shortlist.parquet", "rejects.csv", "clusters.csv", "manifest.json"] {
        assert!(dir.path("out").join(file).exists(), "{file} written");
    }
    assert!(!dir.path("out.staging").exists(), "no staging left behind");
    assert!(dir.path("out.lock").exists(), "the lock file stays, empty");
    assert_eq!(std::fs::read_to_string(dir.path("out.lock")).unwrap(), "");
    assert!(dir.path("model/centroids.json").exists(), "centroids saved");
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    assert_eq!(shortlist.len(), 6, "3 partners × 2 candidates");
}

#[test]
fn rejected_rows_exit_1_and_the_rest_is_matched() {
    let dir = Dir::new();
    dir.write("p.csv", &format!("{HEADER}\n{GOOD}\nd,Delta,not_a_type,KEN,,,\n"));
    let output = run(&dir, "p.csv", &[]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(stderr(&output).contains("1 input rows rejected (see rejects.csv)"));
    let rejects = Csv::read(&dir.path("out/rejects.csv"));
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects.get(0, "row"), "4");
    assert_eq!(rejects.get(0, "column"), "actor_type");
    let partners = Csv::read(&dir.path("out/shortlist.csv")).column("partner_id");
    for id in ["a", "b", "c"] {
        assert!(partners.iter().any(|p| p == id), "{id} still matched");
    }
}

#[test]
fn missing_required_column_exits_2_naming_it_and_writes_nothing() {
    let dir = Dir::new();
    dir.write("p.csv", "id,name,country_iso3\na,Alpha,SEN\n");
    let output = run(&dir, "p.csv", &[]);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(message.contains("p.csv") && message.contains("missing required column(s) actor_type"), "{message}");
    assert!(!dir.path("out/shortlist.csv").exists());
}

#[test]
fn unknown_weight_exits_2_listing_valid_terms() {
    let dir = Dir::new();
    let output = dir.run(&["run", "--weight", "nonsense=1", "--out", "out", "-q"]);
    assert_eq!(code(&output), 2);
    let message = stderr(&output);
    assert!(message.contains("unknown term 'nonsense'"), "{message}");
    for term in ["complementarity", "mutual_benefit", "context", "geography", "values", "sector", "actor_type"] {
        assert!(message.contains(term), "{term} listed in: {message}");
    }
}

#[test]
fn not_csv_or_parquet_exits_2_with_the_fix() {
    let dir = Dir::new();
    dir.write("p.xlsx", "whatever");
    let output = run(&dir, "p.xlsx", &[]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("p.xlsx: not a CSV or Parquet file; give it a .csv or .parquet extension"));
    let output = run(&dir, "missing.csv", &[]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("missing.csv: cannot read the file"), "{}", stderr(&output));
}

#[test]
fn a_failed_run_leaves_the_previous_outputs_untouched() {
    let dir = Dir::new();
    dir.write("good.csv", &format!("{HEADER}\n{GOOD}\n"));
    dir.write("bad.csv", "id,name\nx,y\n");
    assert_eq!(code(&run(&dir, "good.csv", &[])), 0);
    let before = std::fs::read(dir.path("out/shortlist.csv")).unwrap();
    let manifest = std::fs::read(dir.path("out/manifest.json")).unwrap();
    assert_eq!(code(&run(&dir, "bad.csv", &[])), 2);
    assert_eq!(std::fs::read(dir.path("out/shortlist.csv")).unwrap(), before);
    assert_eq!(std::fs::read(dir.path("out/manifest.json")).unwrap(), manifest);
    assert!(!dir.path("out.staging").exists());
}

#[test]
fn parquet_input_gives_the_same_shortlist_as_csv() {
    let dir = Dir::new();
    for file in ["p.csv", "p.parquet"] {
        let output = dir.run(&["generate", "--n", "150", "--seed", "5", "--out", file]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    let csv = dir.run(&["run", "--profiles", "p.csv", "--out", "a", "--model-dir", "m", "-q"]);
    let parquet = dir.run(&["run", "--profiles", "p.parquet", "--out", "b", "--model-dir", "m", "-q"]);
    assert_eq!(code(&csv), code(&parquet));
    assert_eq!(
        std::fs::read(dir.path("a/shortlist.csv")).unwrap(),
        std::fs::read(dir.path("b/shortlist.csv")).unwrap()
    );
}

#[test]
fn formats_choose_the_large_tables_files_and_every_command_reads_either() {
    let dir = Dir::new();
    assert_eq!(code(&dir.run(&["generate", "--n", "300", "--seed", "9", "--out", "p.parquet"])), 0);
    let both = dir.run(&["run", "--profiles", "p.parquet", "--out", "both", "-q"]);
    assert_eq!(code(&both), 0, "{}", stderr(&both));
    let both_manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path("both/manifest.json")).unwrap()).unwrap();
    let tables = ["shortlist", "resources", "triads"];
    for (formats, written, absent) in [("parquet", "parquet", "csv"), ("csv", "csv", "parquet"), ("parquet,csv,parquet", "csv", "-")] {
        let out = format!("only_{written}_{absent}");
        let output = dir.run(&["run", "--profiles", "p.parquet", "--out", &out, "-q", "--formats", formats]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path(&out).join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["run_id"], both_manifest["run_id"], "formats do not change the results");
        for table in tables {
            let file = format!("{table}.{written}");
            assert_eq!(std::fs::read(dir.path(&out).join(&file)).unwrap(), std::fs::read(dir.path("both").join(&file)).unwrap(), "{formats}: {file}");
            assert!(manifest["outputs"].get(&file).is_some(), "{formats}: {file} listed");
            let other = format!("{table}.{absent}");
            assert!(!dir.path(&out).join(&other).exists() && manifest["outputs"].get(&other).is_none(), "{formats}: no {other}");
        }
        // A run of one format is read like any other.
        for command in [vec!["diff", "both", &out], vec!["campaign", "--run", &out, "--out", "camp", "--triads"], vec!["report", &out, "--previous", "both"]] {
            let output = dir.run(&command);
            assert_eq!(code(&output), 0, "{command:?}: {}", stderr(&output));
        }
        std::fs::remove_dir_all(dir.path("camp")).unwrap();
    }
    for bad in ["xlsx", ""] {
        let output = dir.run(&["run", "--profiles", "p.parquet", "--out", "bad", "-q", "--formats", bad]);
        assert_eq!(code(&output), 2, "--formats {bad:?}");
        assert!(stderr(&output).contains("csv") && stderr(&output).contains("parquet"), "{}", stderr(&output));
    }
}

#[test]
fn reused_centroids_reproduce_the_clusters() {
    let dir = Dir::new();
    dir.run(&["generate", "--n", "300", "--seed", "9", "--out", "p.csv"]);
    assert!(code(&run(&dir, "p.csv", &["--clusters", "4"])) <= 1);
    let first = std::fs::read(dir.path("out/clusters.csv")).unwrap();
    let reuse = dir.run(&["run", "--profiles", "p.csv", "--out", "again", "--model-dir", "model", "--reuse-model", "-q"]);
    assert!(code(&reuse) <= 1, "{}", stderr(&reuse));
    assert_eq!(std::fs::read(dir.path("again/clusters.csv")).unwrap(), first);
    let missing = dir.run(&["run", "--profiles", "p.csv", "--out", "x", "--model-dir", "nowhere", "--reuse-model", "-q"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("run once without --reuse-model"), "{}", stderr(&missing));
}

#[test]
fn shipped_default_set_gives_every_active_partner_with_a_theme_a_shortlist() {
    let dir = Dir::new();
    let output = dir.run(&["run", "--out", "out", "--model-dir", "model", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("out/manifest.json")).unwrap()).unwrap();
    let counts = &manifest["counts"];
    assert!(counts["active_partners"].as_u64().unwrap() > 1900);
    // The shared_theme rule leaves a partner that lists no theme at all without candidates.
    let profiles = Csv::read(&repo("data/profiles/default.csv"));
    let with_theme = (0..profiles.len())
        .filter(|&r| profiles.get(r, "active") != "false")
        .filter(|&r| !(profiles.get(r, "offers").is_empty() && profiles.get(r, "needs").is_empty()))
        .count() as u64;
    assert_eq!(counts["shortlists"].as_u64().unwrap(), with_theme);
    assert_eq!(counts["shortlist_rows"].as_u64().unwrap(), 10 * with_theme);
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let reasons = shortlist.column("reason");
    assert!(reasons.iter().all(|r| r.ends_with('.') && r.len() > 40), "every row has a sentence");
    assert!(shortlist.column("partner_id").iter().any(|p| p == "country-ken"), "real countries matched");
}

#[test]
fn committed_default_profiles_are_what_the_generator_makes() {
    let dir = Dir::new();
    let output = dir.run(&["generate", "--n", "2000", "--seed", "42", "--with-seed-countries", "--out", "d.csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        std::fs::read(dir.path("d.csv")).unwrap(),
        std::fs::read(repo("data/profiles/default.csv")).unwrap(),
        "data/profiles/default.csv is stale: regenerate it with the command in data/README.md"
    );
}

#[test]
fn modality_and_exclusion_rules_act_on_the_run_and_explain_names_the_rule() {
    let dir = Dir::new();
    let profiles = repo("tests/data/golden/profiles.csv");
    let profiles = profiles.to_str().unwrap();
    dir.write("ex.csv", "source_id,target_id,date\ndakar,thies-coop,2026-11-01\n");
    let output = dir.run(&[
        "run", "--profiles", profiles, "--out", "out", "--model-dir", "m", "-q",
        "--exclusions", "ex.csv", "--as-of", "2026-11-23",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let pairs: Vec<(String, String)> = (0..shortlist.len())
        .map(|r| (shortlist.get(r, "partner_id"), shortlist.get(r, "candidate_id")))
        .collect();
    assert!(!pairs.contains(&("dakar".into(), "thies-coop".into())), "excluded pair is gone");
    assert!(!pairs.contains(&("thies-coop".into(), "dakar".into())), "both directions");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["pairs_removed_by_rule"]["exclusions"], 2);
    assert_eq!(manifest["exclusions"]["pairs_excluded"], 1);

    let output = dir.run(&[
        "run", "--profiles", profiles, "--out", "tu", "--model-dir", "m", "-q",
        "--modality", "trade-union-sse",
    ]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let modalities = Csv::read(&dir.path("tu/shortlist.csv")).column("modality");
    assert_eq!(modalities, vec!["trade_union_sse", "trade_union_sse"]);

    let output = dir.run(&[
        "explain", "dakar", "thies-coop", "--profiles", profiles,
        "--exclusions", "ex.csv", "--as-of", "2026-11-23",
    ]);
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("exclusions       FAIL"), "{report}");
    assert!(report.contains("not shortlisted: removed by rule exclusions"), "{report}");
    let output = dir.run(&["explain", "dakar", "thies-coop", "--profiles", profiles]);
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("rank 1 of 2 admitted candidates"), "{report}");
    assert!(report.contains("score                                     0.9556"), "{report}");
    let unknown = dir.run(&["explain", "dakar", "nobody", "--profiles", profiles]);
    assert_eq!(code(&unknown), 2);
    assert!(stderr(&unknown).contains("no valid profile has id 'nobody'"));
}

#[test]
fn bad_rule_and_modality_names_list_the_valid_ones() {
    let dir = Dir::new();
    let output = dir.run(&["run", "--disable-rule", "no_self_match", "-q"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("[possible values: shared_theme, demand_driven]"), "{}", stderr(&output));
    let output = dir.run(&["run", "--modality", "south-north", "-q"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("[possible values: south-south, triangular, city-to-city"), "{}", stderr(&output));
}

#[test]
fn explain_gives_the_score_the_shortlist_has() {
    let dir = Dir::new();
    let profiles = repo("data/examples/profiles.csv");
    let profiles = profiles.to_str().unwrap();
    assert_eq!(code(&dir.run(&["run", "--profiles", profiles, "--out", "out", "--model-dir", "m", "-q"])), 0);
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    for row in (0..shortlist.len()).step_by(97) {
        let (partner, candidate) = (shortlist.get(row, "partner_id"), shortlist.get(row, "candidate_id"));
        let output = dir.run(&["explain", &partner, &candidate, "--profiles", profiles]);
        let report = String::from_utf8(output.stdout).unwrap();
        let score: f64 = shortlist.get(row, "score").parse().unwrap();
        let line = report.lines().find(|l| l.starts_with("score ")).unwrap();
        let explained: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
        assert!((score - explained).abs() < 5e-5, "{partner} → {candidate}: {score} vs {explained}");
        let rank = shortlist.get(row, "rank");
        assert!(report.contains(&format!("rank {rank} of ")), "{partner} → {candidate} rank {rank}: {report}");
    }
}
