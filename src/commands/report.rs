//! Report: one self-contained HTML page to look at instead of reading CSV.
//!
//! Input: a run's output directory (`manifest.json`, `shortlist.csv`, `clusters.csv`) and,
//! optionally, known partnerships. Output: `RUN_DIR/report.html`, viewable without network
//! (inline CSS and SVG, no script, no external resource): the run summary and weights,
//! stage timings, a histogram of shortlist scores, exposure per UN sub-region (appearances
//! weighted 1/log2(rank+1)), the cluster table, evaluation figures when known partnerships
//! are given, and every partner's shortlist with a term-by-term bar and the contact for each
//! candidate. Scores print rounded to 3 decimals, stage times in ms under a second, and every
//! chart has its axes and units.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use crate::commands::evaluate::{self, Known, Method};
use crate::config::ReportConfig;
use crate::engine::reference::Reference;
use crate::engine::score::Term;
use crate::error::Error;
use crate::io::atomic::write_file_atomic;
use crate::io::run_dir::{RunDir, ShortlistRow};

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

/// The contact line beside a candidate (empty when the profile gives none).
fn contact(name: Option<&str>, email: Option<&str>) -> String {
    let parts: Vec<String> = [name, email].into_iter().flatten().map(escape).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(r#"<br><small class="contact">{}</small>"#, parts.join(" · "))
    }
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

/// Writes `report.html` into the run directory; returns its path.
pub fn write(config: &ReportConfig) -> Result<PathBuf, Error> {
    let run = RunDir::open(&config.run)?;
    let m = &run.manifest;
    let rows = run.shortlist()?;
    let clusters = run.clusters()?;
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
small{{color:#666}}</style></head><body>
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
    for r in &rows {
        let region = reference
            .country(&r.candidate_country)
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
        let (lists, kinds) = evaluate::run_lists(&run, reference)?;
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

    let total_weight: f64 = weights.0.iter().map(|&w| w as f64).sum::<f64>().max(1e-9);
    let mut legend = String::from(r#"<p class="legend">"#);
    for (i, t) in Term::ALL.iter().enumerate() {
        let _ = write!(legend, r#"<span style="background:{}">{}</span>"#, COLOURS[i], t.name());
    }
    legend.push_str("</p>");
    let mut by_partner: BTreeMap<&str, Vec<&ShortlistRow>> = BTreeMap::new();
    for r in &rows {
        by_partner.entry(&r.partner_id).or_default().push(r);
    }
    let _ = write!(html, r#"<section id="shortlists"><h2>Shortlists ({} partners)</h2>{legend}"#, by_partner.len());
    for (partner, list) in &by_partner {
        let first = list[0];
        let _ = write!(
            html,
            r#"<details class="partner" data-partner="{}"><summary>{} <small>({}, {}) — {} candidates</small></summary><table class="shortlist"><thead><tr><th>#</th><th>candidate</th><th>score</th><th>terms</th><th>roles · modality</th><th>reason</th></tr></thead><tbody>"#,
            escape(partner),
            escape(&first.partner_name),
            escape(partner),
            escape(&first.partner_country),
            list.len()
        );
        for r in list {
            let mut bar = String::from(r#"<div class="bar">"#);
            let mut tip = Vec::new();
            for (i, t) in Term::ALL.iter().enumerate() {
                let value = r.terms[i];
                tip.push(format!("{} {value:.3}", t.name()));
                let _ = write!(bar, r#"<span class="term term-{}" style="width:{:.2}%;background:{}"></span>"#, t.name(), 100.0 * value / total_weight, COLOURS[i]);
            }
            let _ = write!(bar, r#"</div><small>{}</small>"#, escape(&tip.join(" · ")));
            let _ = write!(
                html,
                r#"<tr class="candidate"><td>{}</td><td>{}<br><small>{} · {} · {}</small>{}</td><td>{:.3}</td><td>{bar}</td><td>{} · {}</td><td>{}</td></tr>"#,
                r.rank,
                escape(&r.candidate_name),
                escape(&r.candidate_id),
                escape(&r.candidate_country),
                escape(&r.candidate_actor_type),
                contact(r.candidate_contact_name.as_deref(), r.candidate_contact_email.as_deref()),
                r.score,
                escape(&r.direction),
                escape(&r.modality),
                escape(&r.reason)
            );
        }
        html.push_str("</tbody></table></details>");
    }
    html.push_str("</section></body></html>\n");
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
