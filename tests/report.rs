//! The report rendered in a real headless browser (Debian's chromium, installed by
//! `.ci/run`): assertions on the DOM Chromium built, not on the HTML text; a screenshot is
//! kept as a CI artefact in `target/ci-artifacts/report.png`. Also `diff` between two runs.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::{code, repo, stderr, Dir};

fn chromium() -> PathBuf {
    let found = std::env::var_os("SSTC_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists()));
    found.expect("headless Chromium is needed for this test: apt-get install chromium (.ci/run does)")
}

fn browse(dir: &Dir, page: &std::path::Path, extra: &[String]) -> String {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        format!("--user-data-dir={}", dir.path("chromium-profile").display()),
    ];
    args.extend_from_slice(extra);
    args.push(format!("file://{}", page.display()));
    let output = Command::new(chromium()).args(&args).output().expect("chromium runs");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_report_renders_in_a_headless_browser() {
    let dir = Dir::new();
    let profiles = repo("tests/data/golden/profiles.csv");
    let output = dir.run(&["run", "--profiles", profiles.to_str().unwrap(), "--out", "out", "--model-dir", "m", "-q", "--top-k", "3"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    dir.write("known.csv", "source_id,target_id\ndakar,thies-coop\nabidjan-union,thies-coop\n");
    let output = dir.run(&["report", "out", "--known", "known.csv"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let page = dir.path("out/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"), "self-contained");

    let dom = browse(&dir, &page, &["--dump-dom".into()]);
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(count(r#"<details class="partner""#), 3, "one section per partner with a list");
    assert_eq!(count(r#"<tr class="candidate""#), 6, "one row per shortlist row");
    assert_eq!(count(r#"class="term term-"#), 6 * 7, "a bar segment per term per row");
    assert_eq!(count(r#"<rect class="bin""#), 20, "the score histogram");
    assert!(dom.contains(r#"id="exposure-chart""#) && dom.contains("Sub-Saharan Africa"));
    assert!(dom.contains(r#"id="evaluation-table""#), "evaluation figures with --known");
    assert!(dom.contains("Thiès Street Vendors"), "names rendered, accents intact");
    // For people: contacts beside the candidates, scores rounded, stage times readable,
    // charts with axes and units.
    assert!(count(r#"<small class="contact">"#) >= 4 && dom.contains("@example.org"), "contacts beside the candidates");
    let long_decimals = dom.split("<td>").filter(|cell| cell.split('<').next().is_some_and(|t| t.parse::<f64>().is_ok() && t.split('.').nth(1).is_some_and(|d| d.len() > 4))).count();
    assert_eq!(long_decimals, 0, "scores print with 3 decimals");
    assert!(!dom.contains("0.00 s") && dom.contains(" ms</td>"), "stage times in ms under a second");
    assert!(dom.contains("rows per bin") && dom.contains("score (sum of the weighted terms)") && dom.contains("exposure: appearances"), "axes and units");

    let artefacts = repo("target/ci-artifacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    browse(&dir, &page, &[format!("--screenshot={}", shot.display()), "--window-size=1280,1600".into()]);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a screenshot with content");
}

#[test]
fn diff_reports_weight_changes_and_moved_candidates() {
    let dir = Dir::new();
    let profiles = repo("data/examples/profiles.csv");
    let profiles = profiles.to_str().unwrap();
    assert_eq!(code(&dir.run(&["run", "--profiles", profiles, "--out", "a", "--model-dir", "m", "-q"])), 0);
    assert_eq!(code(&dir.run(&["run", "--profiles", profiles, "--out", "b", "--model-dir", "m", "-q", "--weight", "actor_type=0.5"])), 0);
    let same = dir.run(&["diff", "a", "a"]);
    let same = String::from_utf8(same.stdout).unwrap();
    assert!(same.contains("Nothing: same input content, configuration and version."), "{same}");
    assert!(same.contains("0 of 82 lists changed; 0 candidates entered and 0 left."), "{same}");
    let output = dir.run(&["diff", "a", "b"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(report.contains("| config.matching.weights.actor_type | 0.1 | 0.5 |"), "{report}");
    assert!(report.contains("Largest rank moves"), "{report}");
    assert!(report.contains("aligned by centroid"), "{report}");
    let changed: usize = report
        .lines()
        .find(|l| l.contains("lists changed"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(changed > 10, "raising a weight changes many lists: {report}");
}
