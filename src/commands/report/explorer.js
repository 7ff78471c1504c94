// The report's explorer (see explorer.rs for the data it reads). State lives in the URL
// hash (q, country, actor, modality, changed, page, partner), so a view can be bookmarked
// or sent; every text from the run is set with textContent, never parsed as HTML.
"use strict";
(() => {
  const meta = JSON.parse(document.getElementById("explorer-meta").textContent);
  const PAGE = 50;
  const COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
  const $ = (id) => document.getElementById(id);
  const el = (tag, attributes, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  };
  const score = (milli) => (milli / 1000).toFixed(3);

  async function unpack(id) {
    const text = atob(document.getElementById(id).textContent.trim());
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  let partners = [];
  let folded = [];
  const position = new Map();
  const chunks = new Map();
  // A chunk holds its rows column by column, partner after partner: offsets from the counts.
  function layout(chunk) {
    const at = new Map();
    const offset = [0, 0, 0, 0];
    chunk.partners.forEach((p, i) => {
      at.set(p, { start: offset.slice(), count: chunk.counts[i] });
      chunk.counts[i].forEach((n, k) => { offset[k] += n; });
    });
    return { chunk, at };
  }
  const range = (start, count) => Array.from({ length: count }, (_, i) => start + i);
  async function lists(index) {
    const c = Math.floor(index / meta.chunk);
    if (!chunks.has(c)) chunks.set(c, unpack("chunk-" + c).then(layout));
    const { chunk, at } = await chunks.get(c);
    const place = at.get(index) || { start: [0, 0, 0, 0], count: [0, 0, 0, 0] };
    const rows = (k) => range(place.start[k], place.count[k]);
    const row = (columns, j) => ({
      candidate: columns.candidate[j], score: columns.score[j], terms: columns.terms.map((column) => column[j]),
      kind: columns.kind[j], modality: columns.modality[j], reason: columns.reason[j],
    });
    return {
      candidates: rows(0).map((j) => Object.assign(row(chunk.shortlist, j), { previous: chunk.previous[j] })),
      left: rows(1).map((j) => chunk.left[j]),
      resources: rows(2).map((j) => row(chunk.resources, j)),
      triads: rows(3).map((j) => chunk.triads[chunk.partner_triads[j]]),
    };
  }
  const fold = (text) => text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  const name = (index) => partners[index][1];
  // Each phrase token back to its phrase, then each name token back to its name, last name
  // first: the reverse of the order explorer.rs replaced them in.
  function sentence(stored, names) {
    if (typeof stored !== "string") return stored[0];
    let text = stored.replace(/[\uE000-\uF8FF]/g, (c) => meta.phrases[c.charCodeAt(0) - 0xE000]);
    for (let i = names.length - 1; i >= 0; i--) text = text.split(meta.tokens[i]).join(names[i]);
    return text;
  }

  function state() {
    const p = new URLSearchParams(location.hash.slice(1));
    return {
      q: p.get("q") || "", country: p.get("country") || "", actor: p.get("actor") || "",
      modality: p.get("modality") || "", changed: p.get("changed") || "", page: Number(p.get("page")) || 0,
      partner: p.get("partner") || "",
    };
  }
  function link(change) {
    const next = Object.assign(state(), change);
    const p = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value !== "" && value !== 0) p.set(key, value);
    return "#" + p.toString();
  }
  const go = (change) => { location.hash = link(change); };

  function matches(s) {
    const q = fold(s.q.trim());
    const country = meta.countries.findIndex((c) => c[0] === s.country);
    const actor = meta.actorTypes.findIndex((a) => a[0] === s.actor);
    const modality = meta.modalities.indexOf(s.modality);
    const found = [];
    for (let i = 0; i < partners.length; i++) {
      const p = partners[i];
      if (!p[8]) continue;
      if (q && !folded[i].includes(q)) continue;
      if (s.country && p[2] !== country) continue;
      if (s.actor && p[3] !== actor) continue;
      if (s.modality && !p[6].includes(modality)) continue;
      if (s.changed && !p[7]) continue;
      found.push(i);
    }
    return found;
  }

  function describe(index) {
    const p = partners[index];
    return [meta.countries[p[2]][1], meta.actorTypes[p[3]][1]].join(" · ");
  }
  function contact(index) {
    const parts = [partners[index][4], partners[index][5]].filter((x) => x);
    return parts.length ? el("small", { class: "contact" }, parts.join(" · ")) : "";
  }
  function who(index) {
    return el("td", {}, el("a", { href: link({ partner: partners[index][0] }) }, name(index)), el("br"),
      el("small", {}, partners[index][0] + " · " + describe(index)), el("br"), contact(index));
  }
  // Terms come in hundredths.
  function bar(terms, names, weights) {
    const total = Math.max(weights.reduce((a, b) => a + b, 0), 1e-9);
    const box = el("div", { class: "bar" });
    terms.forEach((t, i) => box.append(el("span", { class: "term term-" + names[i], style: `width:${(t / total).toFixed(2)}%;background:${COLOURS[i]}` })));
    return el("td", {}, box, el("small", {}, terms.map((t, i) => names[i] + " " + (t / 100).toFixed(2)).join(" · ")));
  }
  function table(id, headers, rows) {
    return el("table", { id }, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
  }
  function move(old, rank) {
    if (!meta.previous) return [];
    if (old === null) return [el("td", { class: "change new" }, "new")];
    if (old === rank) return [el("td", { class: "change" }, "=")];
    return [el("td", { class: "change moved" }, (old > rank ? "↑" : "↓") + Math.abs(old - rank) + " (was " + old + ")")];
  }

  async function showPartner(s) {
    const view = $("partner-view");
    const index = position.get(s.partner);
    if (index === undefined) {
      view.replaceChildren(s.partner ? el("p", {}, "No partner with id " + s.partner + " in this run.") : "");
      return;
    }
    const { candidates, left, resources, triads } = await lists(index);
    // Another view was asked for while this one's chunk was unpacked: that one draws.
    if (state().partner !== s.partner) return;
    const modality = meta.modalities.indexOf(s.modality);
    const parts = [el("h3", {}, name(index)), el("p", {}, partners[index][0] + " · " + describe(index), el("br"), contact(index))];
    const rows = candidates
      .map((c, i) => [c, i + 1])
      .filter(([c]) => !s.modality || c.modality === modality)
      .map(([c, rank]) => el("tr", { class: "candidate" }, el("td", {}, String(rank)), who(c.candidate), el("td", {}, score(c.score)),
        bar(c.terms, meta.terms, meta.weights), el("td", {}, meta.directions[c.kind] + " · " + meta.modalities[c.modality]),
        el("td", { class: "reason" }, sentence(c.reason, [name(c.candidate), name(index)])), ...move(c.previous, rank)));
    const headers = ["#", "candidate and contact", "score", "terms", "direction · modality", "reason"].concat(meta.previous ? ["since the previous night"] : []);
    parts.push(el("h4", {}, `Shortlist (${rows.length} of ${candidates.length} candidates)`), table("candidates", headers, rows));
    if (meta.previous && left.length) {
      parts.push(el("h4", {}, "Left the list since the previous night"),
        el("ul", { id: "left" }, ...left.map(([id, rank]) => el("li", { class: "left" },
          (position.has(id) ? name(position.get(id)) + " (" + id + ")" : id) + ", was #" + rank))));
    }
    if (meta.resources) {
      const supporters = resources.filter((r) => !s.modality || r.modality === modality).map((r, i) => el("tr", { class: "resource" },
        el("td", {}, String(i + 1)), who(r.candidate), el("td", {}, score(r.score)), bar(r.terms, meta.supportTerms, meta.supportWeights),
        el("td", {}, meta.roles[r.kind] + " · " + meta.modalities[r.modality]), el("td", { class: "reason" }, sentence(r.reason, [name(r.candidate), name(index)]))));
      parts.push(el("h4", {}, `Funders and facilitators for its needs (${supporters.length})`),
        table("resources", ["#", "funder or facilitator and contact", "score", "terms", "role · modality", "reason"], supporters));
    }
    if (meta.triads) {
      const rows = triads.map((t) => el("tr", { class: "triad" }, who(t[0]), who(t[1]), who(t[2]),
        el("td", {}, score(t[3])), el("td", {}, meta.roles[t[4]]), el("td", { class: "reason" }, sentence(t[5], [name(t[0]), name(t[1]), name(t[2])]))));
      parts.push(el("h4", {}, `Triads it is in (${rows.length})`),
        table("triads", ["beneficiary", "provider", "third member", "score", "third's role", "reason"], rows));
    }
    view.replaceChildren(...parts);
  }

  function showList(s) {
    const found = matches(s);
    const pages = Math.max(1, Math.ceil(found.length / PAGE));
    const page = Math.min(s.page, pages - 1);
    const shown = found.slice(page * PAGE, (page + 1) * PAGE);
    $("match-count").textContent = found.length
      ? `${found.length.toLocaleString("en")} partners with lists match; ${page * PAGE + 1}–${page * PAGE + shown.length} shown (page ${page + 1} of ${pages}).`
      : "No partner matches.";
    $("partner-list").replaceChildren(...shown.map((i) => el("li", { class: "partner-entry" + (partners[i][7] ? " changed" : "") },
      el("a", { href: link({ partner: partners[i][0] }) }, name(i)), " ", el("small", {}, partners[i][0] + " · " + describe(i)))));
    $("previous-page").disabled = page === 0;
    $("next-page").disabled = page >= pages - 1;
  }

  async function render() {
    const s = state();
    $("search").value = s.q;
    $("country").value = s.country;
    $("actor-type").value = s.actor;
    $("modality").value = s.modality;
    $("changed-only").checked = !!s.changed;
    showList(s);
    await showPartner(s);
    document.body.dataset.rendered = location.hash || "#";
    // Milliseconds from opening the page to this view, for the test that measures it.
    if (!document.body.dataset.openedMs) document.body.dataset.openedMs = String(Math.round(performance.now()));
  }

  async function start() {
    partners = await unpack("partners");
    folded = partners.map((p) => fold(p[1] + " " + p[0]));
    partners.forEach((p, i) => position.set(p[0], i));
    meta.countries.forEach(([iso3, label]) => $("country").append(el("option", { value: iso3 }, label + " (" + iso3 + ")")));
    meta.actorTypes.forEach(([id, label]) => $("actor-type").append(el("option", { value: id }, label)));
    meta.modalities.forEach((m) => $("modality").append(el("option", { value: m }, m)));
    $("changed-only").parentElement.hidden = !meta.previous;
    $("search").addEventListener("input", (e) => go({ q: e.target.value, page: 0 }));
    $("country").addEventListener("change", (e) => go({ country: e.target.value, page: 0 }));
    $("actor-type").addEventListener("change", (e) => go({ actor: e.target.value, page: 0 }));
    $("modality").addEventListener("change", (e) => go({ modality: e.target.value, page: 0 }));
    $("changed-only").addEventListener("change", (e) => go({ changed: e.target.checked ? "1" : "", page: 0 }));
    $("previous-page").addEventListener("click", () => go({ page: Math.max(0, state().page - 1) }));
    $("next-page").addEventListener("click", () => go({ page: state().page + 1 }));
    window.addEventListener("hashchange", render);
    await render();
  }
  start().catch((error) => { $("match-count").textContent = "The lists could not be read: " + error; });
})();
