//! The report rendered in a real headless browser (Debian's chromium, installed by
//! `.ci/run`): assertions on the DOM Chromium built, not on the HTML text; a screenshot is
//! kept as a CI artefact in `target/ci-artifacts/report.png`. Also `diff` between two runs.

mod util;

use std::path::PathBuf;
use std::process::Command;

use util::{code, repo, stderr, Csv, Dir};

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

/// Text as it appears in a dumped DOM's text nodes.
fn as_text_node(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\u{a0}', "&nbsp;")
}

/// The page at a hash (the explorer's state), once its script has rendered it.
fn view(dir: &Dir, page: &std::path::Path, hash: &str) -> String {
    let url = format!("{}#{hash}", page.display());
    let dom = browse(dir, std::path::Path::new(&url), &["--virtual-time-budget=20000".into(), "--dump-dom".into()]);
    assert!(dom.contains("data-rendered="), "the explorer rendered #{hash}: {}", &dom[dom.len().saturating_sub(2000)..]);
    dom
}

/// The partner entries the explorer lists (their ids), on its first page.
fn listed(dom: &str) -> Vec<String> {
    let id = |entry: &str| entry.split("partner=").nth(1).unwrap().split(['"', '&']).next().unwrap().to_string();
    dom.split(r#"<li class="partner-entry"#).skip(1).map(id).collect()
}

/// The explorer lists exactly `expected` (a first page of them, and their number).
fn assert_lists(dom: &str, expected: &std::collections::BTreeSet<String>, what: &str) {
    assert!(!expected.is_empty(), "{what}: a case with partners");
    let shown = listed(dom);
    assert_eq!(shown.len(), expected.len().min(50), "{what}");
    assert!(shown.iter().all(|p| expected.contains(p)), "{what}: {shown:?} within {expected:?}");
    assert!(dom.contains(&format!(">{} partners with lists match", expected.len())), "{what}: {} partners", expected.len());
}

/// How many `<tr class="{class}"` rows the partner view shows.
fn rows(dom: &str, class: &str) -> usize {
    dom.matches(&format!(r#"<tr class="{class}""#)).count()
}

#[test]
fn the_report_renders_in_a_headless_browser() {
    let dir = Dir::new();
    let profiles = repo("data/examples/profiles.csv");
    let profiles = profiles.to_str().unwrap();
    for (out, weight) in [("before", "actor_type=0.1"), ("out", "actor_type=0.5")] {
        let output = dir.run(&["run", "--profiles", profiles, "--out", out, "-q", "--weight", weight]);
        assert_eq!(code(&output), 0, "{}", stderr(&output));
    }
    dir.write("known.csv", "source_id,target_id\nsewa,unisol\nsalvador,curitiba\n");
    let output = dir.run(&["report", "out", "--known", "known.csv", "--previous", "before"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let page = dir.path("out/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["http://", "https://", " src=", "<link", "@import", "fetch("] {
        assert!(!html.contains(external), "self-contained: no {external}");
    }

    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let resources = Csv::read(&dir.path("out/resources.csv"));
    let triads = Csv::read(&dir.path("out/triads.csv"));
    let dom = view(&dir, &page, "");
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(count(r#"<rect class="bin""#), 20, "the score histogram");
    assert!(dom.contains(r#"id="exposure-chart""#) && dom.contains("Sub-Saharan Africa"));
    assert!(dom.contains(r#"id="evaluation-table""#), "evaluation figures with --known");
    assert!(dom.contains(r#"id="changes-table""#) && dom.contains(r#"id="most-changed""#), "what changed since the previous night");
    assert!(!dom.contains("0.00 s") && dom.contains(" ms</td>"), "stage times in ms under a second");
    assert!(dom.contains("rows per bin") && dom.contains("score (sum of the weighted terms)") && dom.contains("exposure: appearances"), "axes and units");
    let with_lists: std::collections::BTreeSet<String> = shortlist.column("partner_id").into_iter().chain(resources.column("partner_id")).collect();
    assert!(dom.contains(&format!("{} partners with lists match", with_lists.len())), "every partner with a list is listed");
    assert_eq!(listed(&dom).len(), 50, "a page of 50");

    // A partner's view: its candidates in rank order with contacts, scores rounded, the
    // sentence of the shortlist, what moved since the previous night, its resources and triads.
    let partner = "sewa";
    let dom = view(&dir, &page, &format!("partner={partner}"));
    let own: Vec<usize> = (0..shortlist.len()).filter(|&r| shortlist.get(r, "partner_id") == partner).collect();
    assert_eq!(rows(&dom, "candidate"), own.len());
    assert!(dom.contains(&format!("<h3>{}</h3>", as_text_node(&shortlist.get(own[0], "partner_name")))));
    for &r in &own {
        assert!(dom.contains(&as_text_node(&shortlist.get(r, "reason"))), "the sentence of rank {}", shortlist.get(r, "rank"));
        assert!(dom.contains(&format!("<td>{:.3}</td>", shortlist.get(r, "score").parse::<f64>().unwrap())), "score rounded to 3 decimals");
        let email = shortlist.get(r, "candidate_contact_email");
        if !email.is_empty() {
            assert!(dom.contains(&as_text_node(&email)), "the contact beside {}", shortlist.get(r, "candidate_id"));
        }
    }
    assert_eq!(dom.matches(r#"class="term term-"#).count(), (own.len() + rows(&dom, "resource")) * 7 - rows(&dom, "resource") * 4, "a bar segment per term per row");
    let needs: Vec<usize> = (0..resources.len()).filter(|&r| resources.get(r, "partner_id") == partner).collect();
    assert_eq!(rows(&dom, "resource"), needs.len(), "its funders and facilitators");
    for &r in &needs {
        assert!(dom.contains(&as_text_node(&resources.get(r, "reason"))));
    }
    let in_triads = (0..triads.len()).filter(|&r| ["beneficiary_id", "provider_id", "third_id"].iter().any(|c| triads.get(r, c) == partner)).count();
    assert_eq!(rows(&dom, "triad"), in_triads, "the triads it is in");
    assert!(dom.contains("since the previous night") && (dom.contains(r#"class="change"#)), "rank moves since the previous night");

    // Search by name, filters by country, actor type and modality: the list holds exactly the
    // partners the CSV says.
    let partners_where = |keep: &dyn Fn(usize) -> bool| -> std::collections::BTreeSet<String> {
        (0..shortlist.len()).filter(|&r| keep(r)).map(|r| shortlist.get(r, "partner_id")).collect()
    };
    let dom = view(&dir, &page, "q=odienne");
    let expected = partners_where(&|r| shortlist.get(r, "partner_name").contains("Odienné"));
    assert_lists(&dom, &expected, "search by name, accents or not");
    let dom = view(&dir, &page, "q=city+government");
    assert_lists(&dom, &partners_where(&|r| shortlist.get(r, "partner_name").to_lowercase().contains("city government")), "search by name");
    let dom = view(&dir, &page, "country=BRA");
    assert_lists(&dom, &partners_where(&|r| shortlist.get(r, "partner_country") == "BRA"), "filter by country");
    let dom = view(&dir, &page, "actor=local_authority");
    assert_lists(&dom, &partners_where(&|r| shortlist.get(r, "partner_actor_type") == "local_authority"), "filter by actor type");
    let mut triangular = partners_where(&|r| shortlist.get(r, "modality") == "triangular");
    triangular.extend((0..resources.len()).filter(|&r| resources.get(r, "modality") == "triangular").map(|r| resources.get(r, "partner_id")));
    let dom = view(&dir, &page, "modality=triangular");
    assert_lists(&dom, &triangular, "filter by modality");

    let artefacts = repo("target/ci-artifacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    let url = format!("{}#partner={partner}", page.display());
    browse(&dir, std::path::Path::new(&url), &["--virtual-time-budget=20000".into(), format!("--screenshot={}", shot.display()), "--window-size=1280,2400".into()]);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a screenshot with content");
}

/// The report of 100,000 partners: under 50 MB, and a partner's page opens in headless
/// Chromium (the times are printed, not asserted: this machine is shared).
#[test]
fn the_report_of_100k_partners_is_small_and_opens() {
    let dir = Dir::new();
    let profiles = util::generated(&dir, 100_000, 42);
    let output = dir.run(&["run", "--profiles", profiles.to_str().unwrap(), "--out", "out", "-q"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let started = std::time::Instant::now();
    let output = dir.run(&["report", "out", "--previous", "out"]);
    let written = started.elapsed();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let page = dir.path("out/report.html");
    let size = std::fs::metadata(&page).unwrap().len();
    assert!(size <= 50_000_000, "{size} bytes");
    let shortlist = Csv::read(&dir.path("out/shortlist.csv"));
    let partner = shortlist.get(shortlist.len() / 2, "partner_id");
    let url = format!("{}#partner={partner}", page.display());
    // Opening is timed on a screenshot: dumping the DOM serialises the page's 35 MB of data,
    // which takes Chromium longer than opening it.
    let started = std::time::Instant::now();
    let shot = dir.path("100k.png");
    browse(&dir, std::path::Path::new(&url), &["--virtual-time-budget=20000".into(), format!("--screenshot={}", shot.display()), "--window-size=1280,1600".into()]);
    let opened = started.elapsed();
    let dom = view(&dir, &page, &format!("partner={partner}"));
    let own = shortlist.column("partner_id").iter().filter(|p| **p == partner).count();
    assert_eq!(rows(&dom, "candidate"), own, "the partner's candidates");
    let in_page: String = dom.split("data-opened-ms=\"").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    println!(
        "100k report: written in {:.1} s, {:.1} MB; a partner's page opened in headless Chromium in {:.1} s (process start to screenshot; the page's own clock: {in_page} ms to the rendered view)",
        written.as_secs_f64(),
        size as f64 / 1e6,
        opened.as_secs_f64()
    );
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
    // 82 partners, less the UN Human Security Trust Fund: a donor's list is its support
    // proposals, and no beneficiary needing what it funds has an exchange to back.
    assert!(same.contains("0 of 81 lists changed; 0 candidates entered and 0 left."), "{same}");
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
