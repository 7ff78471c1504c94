//! Report: one self-contained HTML page to work from instead of reading CSV.
//!
//! Input: a run's output directory (manifest, shortlist, resources and triads where the run
//! wrote them, clusters) and, optionally, known partnerships and the previous night's run.
//! Output: `RUN_DIR/report.html`, viewable without network (inline CSS, SVG and script, no
//! external resource): the run summary and weights, stage timings, a histogram of shortlist
//! scores, exposure per UN sub-region (appearances weighted 1/log2(rank+1)), the cluster
//! table, evaluation figures when known partnerships are given, what changed since the
//! previous night with `--previous`, and the explorer ([`explorer`]): every partner's
//! shortlist, resources and triads, searchable by name and filtered by country, actor type
//! and modality, with term-by-term bars and the contact beside each candidate, stored
//! compactly and rendered on demand (100,000 partners: under 50 MB). Scores print rounded to
//! 3 decimals, stage times in ms under a second, and every chart has its axes and units.

mod explorer;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use crate::commands::diff;
use crate::commands::evaluate::{self, Known, Method};
use crate::config::ReportConfig;
use crate::engine::reference::Reference;
use crate::engine::score::Term;
use crate::error::Error;
use crate::io::atomic::write_file_atomic;
use crate::io::run_dir::{Lists, RunDir, ShortlistRow};
use crate::io::table::StringTable;

const COLOURS: [&str; 7] = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];

/// Escapes text for HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn histogram(scores: &[f64]) -> String {
    let max = scores.iter().copied().fold(0.0f64, f64::max).max(1e-9);
    let bins = 20;
    let mut counts = vec![0usize; bins];
    for s in scores {
        counts[((s / max * bins as f64) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut svg = String::from(r#"<svg id="score-histogram" class="chart" viewBox="0 0 640 232" role="img" aria-label="Histogram of shortlist scores">"#);
    for (i, &c) in counts.iter().enumerate() {
        let h = 180.0 * c as f64 / top;
        let _ = write!(
            svg,
            r#"<rect class="bin" x="{:.1}" y="{:.1}" width="28" height="{h:.1}" fill="{}"><title>{:.3}–{:.3}: {c} rows</title></rect>"#,
            20.0 + i as f64 * 30.0,
            190.0 - h,
            COLOURS[0],
            max * i as f64 / bins as f64,
            max * (i + 1) as f64 / bins as f64
        );
    }
    // Axes: rows up the left, score along the bottom, with their units.
    let _ = write!(
        svg,
        r#"<g class="axis"><line x1="18" y1="190" x2="620" y2="190" stroke="dimgray"></line><line x1="18" y1="10" x2="18" y2="190" stroke="dimgray"></line><text x="20" y="205" font-size="11">0</text><text x="300" y="205" font-size="11">{:.2}</text><text x="585" y="205" font-size="11">{max:.2}</text><text x="250" y="225" font-size="12">score (sum of the weighted terms)</text><text x="2" y="14" font-size="11">{}</text><text x="24" y="24" font-size="11">rows per bin</text></g></svg>"#,
        max / 2.0,
        top as usize
    );
    svg
}

fn exposure_chart(exposure: &[(String, f64)]) -> String {
    let top = exposure.first().map_or(1.0, |e| e.1).max(1e-9);
    let height = 24 * exposure.len() + 26;
    let mut svg = format!(r#"<svg id="exposure-chart" class="chart" viewBox="0 0 640 {height}" role="img" aria-label="Exposure per region">"#);
    for (i, (region, value)) in exposure.iter().enumerate() {
        let y = 5 + i * 24;
        let w = 340.0 * value / top;
        let _ = write!(
            svg,
            r#"<g class="region-bar"><text x="0" y="{}" font-size="12">{}</text><rect x="230" y="{y}" width="{w:.1}" height="18" fill="{}"></rect><text x="{:.1}" y="{}" font-size="11">{value:.1}</text></g>"#,
            y + 14,
            escape(region),
            COLOURS[2],
            235.0 + w,
            y + 14
        );
    }
    let _ = write!(svg, r#"<text x="230" y="{}" font-size="11">exposure: appearances in shortlists weighted 1/log2(rank + 1)</text>"#, height - 4);
    svg.push_str("</svg>");
    svg
}

/// A stage time for people: milliseconds under a second, else seconds with one decimal.
fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 0.0005 => "under 1 ms".into(),
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s => format!("{s:.1} s"),
    }
}

fn table(headers: &[&str], rows: &[Vec<String>], id: &str) -> String {
    let mut html = format!(r#"<table id="{id}"><thead><tr>"#);
    for h in headers {
        let _ = write!(html, "<th>{}</th>", escape(h));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// The section on what changed since the previous night: counts, and the lists that
/// changed most (each a link to its view).
fn changes(previous: &Lists, rows: &[ShortlistRow]) -> String {
    let mut tonight = diff::ListsOf::<&str>::new();
    for r in rows {
        tonight.entry(r.partner_id).or_default().insert(r.candidate_id, r.rank);
    }
    let churn = diff::churn(previous, &tonight);
    let facts = vec![
        vec!["lists on both nights".into(), churn.compared.to_string()],
        vec!["lists that changed".into(), churn.changed.to_string()],
        vec!["candidates that entered a list".into(), churn.entered.to_string()],
        vec!["candidates that left a list".into(), churn.left.to_string()],
        vec!["partners with a list tonight only".into(), churn.added.len().to_string()],
        vec!["partners with a list the previous night only".into(), churn.dropped.len().to_string()],
    ];
    let mut html = format!(r#"<section id="changes"><h2>Since the previous night</h2>{}"#, table(&["fact", "count"], &facts, "changes-table"));
    let most: Vec<String> = churn
        .most_changed
        .iter()
        .filter(|(n, _)| *n > 0)
        .take(10)
        .map(|&(n, p)| format!(r##"<li><a href="#partner={}">{}</a>: {n} in or out</li>"##, escape(&percent_encode(p)), escape(p)))
        .collect();
    if !most.is_empty() {
        let _ = write!(html, r#"<p>Most changed lists:</p><ul id="most-changed">{}</ul>"#, most.join(""));
    }
    html.push_str("</section>");
    html
}

/// A value for the page's URL hash (`URLSearchParams` reads it back).
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// The result of a scoped thread; its panic, if it panicked.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The page up to the explorer: head and style, run summary, settings, score histogram,
/// exposure per region, clusters, evaluation with `--known`, changes with `--previous`.
fn summary(config: &ReportConfig, run: &RunDir, rows: &[ShortlistRow], clusters: &StringTable, triads: Option<usize>, previous: Option<&Lists>) -> Result<String, Error> {
    let m = &run.manifest;
    let reference = Reference::builtin();
    let mut html = String::new();
    let run_id = &m.run_id;
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sstc-match run {id}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;vertical-align:top;text-align:left}}
.chart{{max-width:640px;display:block;margin-bottom:1.5em}}
.bar{{display:flex;width:220px;height:14px;background:#eee}}.bar span{{display:block;height:100%}}
details{{margin:.2em 0}}summary{{cursor:pointer}}.legend span{{display:inline-block;padding:0 6px;margin-right:4px;color:#fff;font-size:12px}}
small{{color:#666}}#filters{{display:flex;flex-wrap:wrap;gap:.5em;margin:.5em 0}}#partner-list{{columns:2;font-size:14px}}
.partner-entry.changed a{{font-weight:bold}}.change.new{{color:#1b9e77;font-weight:bold}}#partner-view{{border-top:2px solid #ccc;margin-top:1em}}</style></head><body>
<h1>sstc-match run <code>{id}</code></h1>"#,
        id = escape(run_id)
    );

    let summary = vec![
        vec!["started".into(), m.started_at.clone()],
        vec!["finished".into(), m.finished_at.clone()],
        vec!["version · commit".into(), format!("{} · {}", m.version, m.git_commit)],
        vec!["input".into(), format!("{} (sha256 {})", m.input.path, m.input.sha256)],
        vec!["rows read · rejected".into(), format!("{} · {}", m.input.rows_read, m.input.rows_rejected)],
        vec!["active partners · shortlists · rows".into(), format!("{} · {} · {}", m.counts.active_partners, m.counts.shortlists, m.counts.shortlist_rows)],
        vec!["pairs scored".into(), m.counts.pairs_scored.to_string()],
        vec!["resource rows · supporters".into(), format!("{} · {}", m.counts.resource_rows, m.counts.supporters)],
        vec!["triads".into(), triads.map_or_else(|| "none (the run was made with --no-triads)".into(), |n| n.to_string())],
        vec!["peak memory".into(), format!("{} MB", m.peak_rss_mb)],
    ];
    let _ = write!(html, r#"<section id="summary"><h2>Run</h2>{}</section>"#, table(&["fact", "value"], &summary, "summary-table"));
    let weights = m.config.matching.weights;
    let weight_rows: Vec<Vec<String>> = Term::ALL.iter().map(|&t| vec![t.name().to_string(), weights.0[t as usize].to_string()]).collect();
    let timings: Vec<Vec<String>> = m.timings.iter().map(|t| vec![t.stage.clone(), duration(t.seconds)]).collect();
    let rules: Vec<Vec<String>> = m.counts.pairs_removed_by_rule.iter().map(|(k, v)| vec![k.clone(), v.to_string()]).collect();
    let _ = write!(
        html,
        r#"<section id="settings"><h2>Weights, rules, stages</h2>{}{}{}</section>"#,
        table(&["term", "weight"], &weight_rows, "weights-table"),
        table(&["rule", "pairs removed"], &rules, "rules-table"),
        table(&["stage", "time"], &timings, "timings-table")
    );

    let scores: Vec<f64> = rows.iter().map(|r| r.score).collect();
    let _ = write!(html, r#"<section id="scores"><h2>Score distribution ({} shortlist rows)</h2>{}</section>"#, scores.len(), histogram(&scores));

    let mut exposure: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        let region = reference
            .country(r.candidate_country)
            .map(|c| reference.sub_regions[reference.countries[c as usize].sub_region as usize].clone())
            .unwrap_or_else(|| "(unknown)".into());
        *exposure.entry(region).or_default() += 1.0 / (r.rank as f64 + 1.0).log2();
    }
    let mut exposure: Vec<(String, f64)> = exposure.into_iter().collect();
    exposure.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = write!(html, r#"<section id="exposure"><h2>Exposure per region of the candidates</h2>{}</section>"#, exposure_chart(&exposure));

    let cluster_rows: Vec<Vec<String>> = clusters.records()
        .iter()
        .map(|r| ["cluster", "size", "share", "top_regions", "top_actor_types", "top_themes"].iter().map(|c| r.get(c).copied().unwrap_or_default().to_string()).collect())
        .collect();
    let _ = write!(
        html,
        r#"<section id="clusters"><h2>Clusters</h2>{}</section>"#,
        table(&["cluster", "size", "share", "regions", "actor types", "themes"], &cluster_rows, "clusters-table")
    );

    if let Some(known_path) = &config.known {
        let (lists, kinds) = evaluate::run_lists(run, reference)?;
        let catalogue: Vec<String> = kinds.keys().cloned().collect();
        let known = Known::load(known_path, &|id| kinds.contains_key(id))?;
        let evaluation = evaluate::evaluate(&[Method { name: "this run".into(), lists }], &known, 10, &catalogue, &kinds);
        let (a, b) = (&evaluation.accuracy[0], &evaluation.beyond[0]);
        let figures = vec![vec![
            format!("{:.3}", a.precision),
            format!("{:.3}", a.recall),
            format!("{:.3}", a.mrr),
            format!("{:.3}", a.ndcg),
            format!("{:.3}", a.map),
            format!("{:.3}", a.hit_rate),
            format!("{:.3}", b.coverage),
            format!("{:.3}", b.exposure_gini),
            format!("{:.3}", b.intra_list_diversity),
        ]];
        let _ = write!(
            html,
            r#"<section id="evaluation"><h2>Evaluation against {} known partnerships ({} queries)</h2>{}</section>"#,
            known.pairs.len(),
            a.queries,
            table(&["P@10", "R@10", "MRR@10", "nDCG@10", "MAP@10", "hit rate", "coverage", "exposure Gini", "diversity"], &figures, "evaluation-table")
        );
    }

    if let Some(previous) = previous {
        html.push_str(&changes(previous, rows));
    }
    Ok(html)
}

/// Writes `report.html` into the run directory; returns its path.
pub fn write(config: &ReportConfig) -> Result<PathBuf, Error> {
    let run = RunDir::open(&config.run)?;
    // The tables are read side by side, on threads of their own (not rayon's: a worker
    // waiting for polars may pick up the other read, which waits for the reader's lock).
    let previous_lists = || config.previous.as_deref().map(|dir| Ok::<_, Error>(RunDir::open(dir)?.lists()?.0)).transpose();
    let (shortlist, extra_tables, previous) = std::thread::scope(|scope| {
        let extra_tables = scope.spawn(|| Ok::<_, Error>((run.resources()?, run.triads()?)));
        let previous = scope.spawn(previous_lists);
        (run.shortlist(), joined(extra_tables), joined(previous))
    });
    let (shortlist, (resource_table, triad_table), previous) = (shortlist?, extra_tables?, previous?);
    let (rows, resources) = std::thread::scope(|scope| {
        let resources = scope.spawn(|| resource_table.as_ref().map(|t| t.rows()).transpose());
        (shortlist.rows(), joined(resources))
    });
    let (rows, resources) = (rows?, resources?);
    let triads = triad_table.as_ref().map(|t| t.rows()).transpose()?;
    let clusters = run.clusters()?;

    let tables = explorer::Tables { shortlist: &rows, resources: resources.as_deref(), triads: triads.as_deref(), previous: previous.as_ref() };
    // The explorer's lists are built beside the summary sections.
    let (summary, lists) = std::thread::scope(|scope| {
        let lists = scope.spawn(|| explorer::section(&tables, &run.manifest, Reference::builtin()));
        (summary(config, &run, &rows, &clusters, triads.as_ref().map(Vec::len), previous.as_ref()), joined(lists))
    });
    let html = format!("{}{lists}</body></html>\n", summary?);
    let path = run.path.join("report.html");
    write_file_atomic(&path, html.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_characters() {
        assert_eq!(escape(r#"<b>"A&B's"</b>"#), "&lt;b&gt;&quot;A&amp;B&#39;s&quot;&lt;/b&gt;");
    }
}
