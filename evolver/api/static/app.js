// evolver's page: a hash router over the HTTP API, the lineage drawn in SVG, a run's charts drawn by uPlot
// (vendored in static/vendor/, loaded by index.html as the global `uPlot`). No build step, nothing fetched from
// elsewhere.
// Text from the API only ever enters the page as text nodes (textContent), never as HTML.

const PAGE = 500; // items per request of a paged list (the API's maximum)
const POLL_MS = 2000; // how often a running job is asked where it stands
const LIVE = new Set(["pending", "running"]); // a run that moves by itself (`interrupted` waits for a resume)
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#ff9da7", "#bab0ac"];
const NODE = { w: 190, h: 38, col: 226, row: 48, pad: 14 }; // tree geometry, px
const OF_OPTIMUM = "share of the optimum profit: (score − idle) / (optimum − idle), idle: the score of doing nothing";
const OF_BOUND = "share of the best known profit, a lower bound of the optimum's (a share of the optimum is nearer 0)";
const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_HEIGHT = 200; // px of a chart's plot, each panel of a run

const view = document.getElementById("view");
const banner = document.getElementById("banner");
let token = 0; // bumped on every route change: async work started under an older token stops
let timer = null; // the next poll of a running job
let job = null; // the job on screen: {id, route, detail, board, items, colours, selected}

// ---- DOM helpers ----

function make(ns, tag, attrs, kids) {
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  el.append(...kids.flat(Infinity).filter((kid) => kid != null && kid !== false));
  return el; // strings in `kids` become text nodes
}
const h = (tag, attrs, ...kids) => make(null, tag, attrs, kids);
const svg = (tag, attrs, ...kids) => make(SVG_NS, tag, attrs, kids);

function table(id, columns, rows) {
  // columns: {label: "num" | ""}; numeric columns are right-aligned
  const head = Object.entries(columns).map(([label, cls]) => h("th", { class: cls || null }, label));
  return h("table", { id }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}
const num = (...kids) => h("td", { class: "num" }, kids);

function showError(message) {
  banner.textContent = message || "";
  banner.hidden = !message;
}

// ---- formatting ----

function fmt(x) {
  if (x == null) return "—";
  if (typeof x !== "number") return String(x);
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  return abs >= 1e6 || abs < 1e-3 ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}
const signed = (x) => (x == null ? "—" : `${x >= 0 ? "+" : ""}${fmt(x)}`); // a gap: held-out − training
const seeds = (list) => (list && list.length ? list.join(", ") : "none");
const money = (x) => (x == null ? "—" : `$${Number(x.toPrecision(4))}`);
const when = (iso) => iso.slice(0, 16).replace("T", " ");
const pct = (x, digits = 1) => `${(x * 100).toFixed(digits)} %`;

// A score's share of the optimum profit, given its seed set's reference ({idle, optimum, exact}; null: none):
// beside a score as " (63.2 %)", or " (12.1 %*)" when it is of the best known (a lower bound of the optimum).
const mark = (x, ref, digits = 1) => (x == null || !ref ? null : ` (${pct(x, digits)}${ref.exact ? "" : "*"})`);
function share(x, ref) {
  const text = mark(x, ref);
  return text && h("span", { class: "share", title: ref.exact ? OF_OPTIMUM : OF_BOUND }, text);
}
const nodeShare = (x, ref) => mark(x, ref, 0) && svg("tspan", { class: "share" }, mark(x, ref, 0));
function shareWords(x, ref) {
  // "63.2 % of the optimum profit", or "12.1 % of the best known profit (a lower bound)"; "" without one
  if (x == null || !ref) return "";
  return `${pct(x)} of the ${ref.exact ? "optimum profit" : "best known profit (a lower bound)"}`;
}
const sets = (reference) => reference || { train: null, heldout: null };
const short = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

function colour(model) {
  if (!job.colours.has(model)) job.colours.set(model, PALETTE[job.colours.size % PALETTE.length]);
  return job.colours.get(model);
}
const swatch = (model) => h("span", { class: "swatch", style: `background:${colour(model)}` });
const modelCell = (model) => h("td", {}, swatch(model), model);

// ---- the API ----

async function api(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: "application/json" } });
  } catch {
    throw new Error(`cannot reach the server (GET ${path})`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error || `GET ${path}: ${res.status} ${res.statusText}`);
  return body;
}

async function pages(path, have = []) {
  // every item of a paged list, continuing after the `have` already fetched (lists only grow at the end)
  const items = [...have];
  for (;;) {
    const page = await api(`${path}?offset=${items.length}&limit=${PAGE}`);
    items.push(...page.items);
    if (!page.items.length || items.length >= page.total) return items;
  }
}

// ---- the router ----

function route() {
  const match = location.hash.match(/^#\/(jobs|tournaments)\/(\d+)(?:\/candidates\/(\d+))?\/?$/);
  const selected = match && match[3] ? Number(match[3]) : null;
  if (match && job && job.route === match[1] && job.id === Number(match[2])) return select(selected);
  token += 1;
  clearTimeout(timer);
  job = null;
  showError(null);
  if (match) return showJob(match[1], Number(match[2]), selected, token);
  if (location.hash && !["#", "#/"].includes(location.hash)) showError(`no page ${location.hash}; here are the jobs`);
  return showList(token);
}

const candidateHash = (c) => `#/${c.job_id === job.id ? job.route : "jobs"}/${c.job_id}/candidates/${c.id}`;

// ---- #/ : the jobs and tournaments ----

async function showList(my) {
  document.title = "jobs · evolver";
  view.replaceChildren(h("p", { class: "muted" }, "loading…"));
  let jobs;
  try {
    jobs = await pages("/jobs");
  } catch (err) {
    if (my === token) {
      view.replaceChildren();
      showError(err.message);
    }
    return;
  }
  if (my !== token) return;
  const rows = jobs.reverse().map((j) => {
    const href = `#/${j.kind === "tournament" ? "tournaments" : "jobs"}/${j.id}`;
    return h("tr", { class: "job", "data-id": j.id, onclick: () => (location.hash = href) },
      h("td", {}, h("a", { href }, `#${j.id}`)), h("td", {}, j.kind), h("td", {}, j.scenario),
      h("td", {}, j.models.join(", ")), h("td", { class: "mono" }, j.comp), h("td", {}, badge(j.status)),
      num(fmt(j.best), share(j.share, sets(j.reference).train)),
      num(fmt(j.best_heldout), share(j.heldout_share, sets(j.reference).heldout)), num(signed(j.gap)),
      h("td", {}, when(j.created_at)));
  });
  const columns = { id: "", kind: "", scenario: "", models: "", comp: "", status: "", best: "num",
    "held-out": "num", gap: "num", "created (UTC)": "" };
  view.replaceChildren(
    h("h1", {}, "Jobs and tournaments"),
    jobs.length ? table("jobs", columns, rows) : h("p", {}, "No jobs yet: POST /jobs or run `evolver evolve`."),
  );
}

// ---- #/jobs/ID and #/tournaments/ID ----

function showJob(routeName, id, selected, my) {
  job = { id, route: routeName, detail: null, board: null, items: [], colours: new Map(), selected };
  document.title = `${routeName === "tournaments" ? "tournament" : "job"} ${id} · evolver`;
  view.replaceChildren(h("p", { class: "muted" }, "loading…"));
  load(my).then(
    () => my === token && job.selected != null && select(job.selected),
    (err) => {
      if (my !== token) return;
      view.replaceChildren();
      showError(err.message);
    },
  );
}

async function load(my) {
  // where the job stands; when it changed, the new candidates (and the tournament's tables); then draw
  const detail = await api(`/jobs/${job.id}`);
  if (my !== token) return;
  const old = job.detail;
  const changed = !old || old.candidates !== detail.candidates || old.status !== detail.status;
  if (changed) {
    const items = await pages(`/jobs/${job.id}/lineage`, job.items);
    const board = detail.kind === "tournament" ? await api(`/tournaments/${job.id}`) : null;
    if (my !== token) return;
    Object.assign(job, { items, board });
  }
  job.detail = detail;
  showError(null);
  render(changed);
  if (LIVE.has(detail.status)) timer = setTimeout(() => poll(my), POLL_MS);
}

function poll(my) {
  load(my).catch((err) => {
    if (my !== token) return;
    showError(`${err.message} (retrying)`);
    timer = setTimeout(() => poll(my), POLL_MS);
  });
}

function render(changed) {
  const d = job.detail;
  d.models.forEach(colour); // the palette follows the job's order of models
  if (!document.getElementById("job-head")) {
    view.replaceChildren(
      h("h1", { id: "job-title" }),
      h("dl", { id: "job-head", class: "facts" }),
      h("div", { id: "tables", class: "tables" }),
      h("div", { class: "split" },
        h("section", { id: "lineage" }, h("h2", {}, "Lineage"), h("div", { id: "legend" }), h("div", { id: "tree" })),
        h("section", { id: "candidate" }, h("p", { class: "muted" }, "Click a node to see its candidate."))),
    );
  }
  const kind = d.kind === "tournament" ? "Tournament" : "Job";
  document.getElementById("job-title").replaceChildren(`${kind} #${d.id} · ${d.scenario}`);
  document.getElementById("job-head").replaceChildren(...facts(header(d)));
  if (!changed) return;
  document.getElementById("tables").replaceChildren(...tables(d, job.board));
  document.getElementById("legend").replaceChildren(...legend(d));
  document.getElementById("tree").replaceChildren(tree(job.items, d.best_candidate));
  markSelected();
}

function header(d) {
  const ref = sets(d.reference);
  const rows = [
    ["scenario", d.scenario], ["comp", h("code", {}, d.comp)], ["goal", d.goal], ["status", badge(d.status)],
    ["phase", `${d.phase}/${d.phases}`], ["candidates", `${d.candidates} (${d.ok} ok)`],
    ["best", h("span", {}, fmt(d.best), share(d.share, ref.train))],
    ["held-out", h("span", {}, fmt(d.best_heldout), share(d.heldout_share, ref.heldout))], ["gap", signed(d.gap)],
    ["training seeds", seeds(d.budget.seeds)], ["held-out seeds", seeds(d.budget.heldout)],
    ...optimum("", ref.train), ...optimum("held-out ", ref.heldout),
    ["models", d.models.join(", ")], ["created (UTC)", when(d.created_at)],
  ];
  if (d.error) rows.push(["error", h("span", { class: "error-text" }, d.error)]);
  return rows;
}

function optimum(prefix, ref) {
  // a seed set's mean optimum (exact, or the best known: a lower bound) and mean idle score; none without a reference
  if (!ref) return [];
  const kind = ref.exact ? "exact" : "best known: a lower bound";
  return [[`${prefix}optimum`, `${fmt(ref.optimum)} (${kind})`], [`${prefix}idle`, fmt(ref.idle)]];
}

function facts(rows) {
  return rows.flatMap(([key, value]) => [h("dt", {}, key), h("dd", { "data-field": key }, value)]);
}

function candidateLink(id, text) {
  return id == null ? text : h("a", { href: candidateHash({ id, job_id: job.id }) }, text);
}

function tables(d, board) {
  const section = (title, content) => h("section", {}, h("h2", {}, title), content);
  const ref = sets(d.reference);
  const standings = d.standings.map((s) => h("tr", {}, modelCell(s.model),
    num(candidateLink(s.best_candidate, fmt(s.best)), share(s.share, ref.train)),
    num(fmt(s.best_heldout), share(s.heldout_share, ref.heldout)), num(signed(s.gap)), num(s.calls),
    num(money(s.cost))));
  const columns = { model: "", best: "num", "held-out": "num", gap: "num", calls: "num", cost: "num" };
  const out = [section("Standings", table("standings", columns, standings))];
  if (!board) return out;
  const arena = board.markets && board.markets.length > 0;
  const leaders = board.leaderboard.map((r) => h("tr", {}, modelCell(r.model), num(r.rating.toFixed(1)),
    ...(arena ? [num(r.bt === null ? "—" : r.bt.toFixed(2))] : []), num(r.wins), num(r.losses), num(r.matches), num(fmt(r.best), share(r.share, ref.train)),
    num(fmt(r.best_heldout), share(r.heldout_share, ref.heldout)), num(signed(r.gap)), num(r.calls),
    num(money(r.cost))));
  const matches = board.matches.map((m) => h("tr", { class: m.won ? "won" : "lost" },
    num(m.round), modelCell(m.challenger), modelCell(m.defender),
    num(candidateLink(m.challenger_candidate_id, fmt(m.challenger_score))),
    num(candidateLink(m.defender_candidate_id, fmt(m.defender_score))), h("td", {}, m.won ? "✓ won" : "✗ lost")));
  const ratings = { model: "", rating: "num", ...(arena ? { bt: "num" } : {}), wins: "num", losses: "num",
    matches: "num", best: "num", "held-out": "num", gap: "num", calls: "num", cost: "num" };
  const markets = (board.markets || []).map((m) => h("tr", {}, num(m.round),
    h("td", {}, ...m.models.map((model, k) => h("span", { class: "seat" }, swatch(model), model,
      " ", candidateLink(m.candidate_ids[k], m.scores[k] === null ? m.statuses[k] : fmt(m.scores[k])))))));
  const scores = { round: "num", challenger: "", defender: "", "challenger score": "num", "defender score": "num",
    won: "" };
  out.push(
    section("Leaderboard", table("leaderboard", ratings, leaders)),
    section("Matches", matches.length ? table("matches", scores, matches) : h("p", { class: "muted" }, "None yet.")),
  );
  if (arena) {
    out.push(section("Markets: each round's champions in the same runs", table("markets", { round: "num", seats: "" },
      markets)));
  }
  return out;
}

function legend(d) {
  return [
    ...d.models.map((m) => h("span", { class: "key" }, swatch(m), m)),
    h("span", { class: "key" }, h("span", { class: "star" }, "★"), "best"),
    h("span", { class: "key" }, h("span", { class: "cross" }, "✗"), "failed"),
    h("span", { class: "key" }, h("span", { class: "dash" }), "beat target"),
  ];
}

// ---- the lineage tree: x by depth, y by a tidy order (leaves in turn, a parent centred on its children) ----

function tree(items, best) {
  if (!items.length) return h("p", { class: "muted" }, "No candidates yet.");
  const nodes = new Map();
  const roots = [];
  for (const c of items) { // every parent comes before its children
    const node = { c, kids: [], depth: 0, row: 0 };
    const parent = nodes.get(c.parent_id);
    if (parent) {
      node.depth = parent.depth + 1;
      parent.kids.push(node);
    } else {
      roots.push(node);
    }
    nodes.set(c.id, node);
  }
  let next = 0;
  const place = (n) => {
    n.kids.forEach(place);
    n.row = n.kids.length ? (n.kids[0].row + n.kids.at(-1).row) / 2 : next++;
  };
  roots.forEach(place);
  const at = (n) => ({ x: NODE.pad + n.depth * NODE.col, y: NODE.pad + n.row * NODE.row });
  const depth = Math.max(...[...nodes.values()].map((n) => n.depth));
  const width = 2 * NODE.pad + depth * NODE.col + NODE.w;
  const height = 2 * NODE.pad + (next - 1) * NODE.row + NODE.h;

  const curve = (from, to, cls) => {
    const a = at(from), b = at(to);
    const x1 = a.x + NODE.w, y1 = a.y + NODE.h / 2, x2 = b.x, y2 = b.y + NODE.h / 2, mid = (x1 + x2) / 2;
    const d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
    return svg("path", { class: cls, d, "data-from": from.c.id, "data-to": to.c.id });
  };
  const edges = [], targets = [], boxes = [];
  for (const n of nodes.values()) {
    const parent = nodes.get(n.c.parent_id), target = nodes.get(n.c.target_id);
    if (parent) edges.push(curve(parent, n, "edge"));
    if (target) targets.push(curve(target, n, "edge target"));
    boxes.push(nodeBox(n.c, at(n), n.c.id === best));
  }
  return svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "lineage" },
    svg("g", { class: "edges" }, edges, targets), svg("g", { class: "nodes" }, boxes));
}

function nodeBox(c, { x, y }, isBest) {
  const ok = c.status === "ok";
  const ref = sets(job.detail.reference);
  const classes = ["node", ok ? "ok" : "failed", isBest && "best"].filter(Boolean).join(" ");
  const words = shareWords(c.share, ref.train);
  const tip = ok
    ? `#${c.id} ${c.model} ${c.op}, generation ${c.generation}: score ${c.score}${words ? ` (${words})` : ""}` +
      `${c.improved ? " (improved)" : ""}${heldoutText(c, ref.heldout)}`
    : `#${c.id} ${c.model} ${c.op}, generation ${c.generation}: ${c.status}: ${c.error || "no reason given"}`;
  const line1 = ok ? [`${isBest ? "★ " : ""}#${c.id}  ${fmt(c.score)}`, nodeShare(c.share, ref.train)]
    : `#${c.id} ${c.status}`;
  const heldout = c.heldout_status == null ? []
    : [` · h ${c.heldout_score == null ? "✗" : fmt(c.heldout_score)}`, nodeShare(c.heldout_share, ref.heldout)];
  const line2 = ok ? [`${c.op} · g${c.generation}${c.improved ? " ↑" : ""}`, ...heldout] : short(c.error || "", 30);
  const go = () => (location.hash = candidateHash(c));
  const key = (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    go();
  };
  return svg("g", { class: classes, "data-id": c.id, "data-status": c.status, "data-model": c.model,
    transform: `translate(${x},${y})`, tabindex: 0, role: "button", "aria-label": tip, onclick: go, onkeydown: key },
  svg("title", {}, tip),
  svg("rect", { class: "halo", x: -4, y: -4, width: NODE.w + 8, height: NODE.h + 8, rx: 8 }),
  svg("rect", { class: "box", width: NODE.w, height: NODE.h, rx: 5, stroke: colour(c.model) }),
  svg("rect", { class: "bar", width: 6, height: NODE.h, rx: 2, fill: colour(c.model) }),
  svg("text", { class: "l1", x: 13, y: 16 }, line1),
  svg("text", { class: "l2", x: 13, y: 31 }, line2),
  !ok && svg("path", { class: "cross", d: `M${NODE.w - 17},7 l10,10 m0,-10 l-10,10` }));
}

function heldoutText(c, ref) {
  // "; held-out 49.5 (gap -1.5)" (and its share: "(gap -1.5; 40.1 % of the optimum profit)"), "; held-out:
  // runtime_error", or nothing without a held-out evaluation
  if (c.heldout_status == null) return "";
  if (c.heldout_score == null) return `; held-out: ${c.heldout_status}`;
  const words = shareWords(c.heldout_share, ref);
  return `; held-out ${c.heldout_score} (gap ${signed(c.gap)}${words ? `; ${words}` : ""})`;
}

function markSelected() {
  // the selected node, and the edges to its parent, target and children
  const is = (id) => Number(id) === job.selected;
  for (const node of document.querySelectorAll("#tree .node")) node.classList.toggle("selected", is(node.dataset.id));
  for (const edge of document.querySelectorAll("#tree .edge")) {
    edge.classList.toggle("lit", is(edge.dataset.from) || is(edge.dataset.to));
  }
}

// ---- the candidate panel ----

function select(id) {
  job.selected = id;
  markSelected();
  const panel = document.getElementById("candidate");
  if (!panel) return; // the job is still loading: it selects when drawn
  const node = document.querySelector(`#tree .node[data-id="${id}"]`);
  if (node) node.scrollIntoView({ block: "nearest", inline: "nearest" });
  if (id == null) return panel.replaceChildren(h("p", { class: "muted" }, "Click a node to see its candidate."));
  panel.replaceChildren(h("p", { class: "muted" }, `loading candidate #${id}…`));
  const my = token;
  // the run of a candidate the lineage says is ok is asked for beside its detail, not after it: its charts need both
  const run = job.items.find((c) => c.id === id)?.status === "ok" ? api(`/candidates/${id}/run.json`) : null;
  run?.catch(() => {}); // its error is shown where its charts would be, once the candidate is drawn
  api(`/candidates/${id}`).then(
    (c) => my === token && job.selected === id && panel.replaceChildren(...candidate(c, run)),
    (err) => {
      if (my !== token || job.selected !== id) return;
      panel.replaceChildren(h("p", { class: "muted" }, `candidate #${id} could not be loaded`));
      showError(err.message);
    },
  );
}

function candidate(c, run) {
  const training = c.evaluations.find((e) => !e.heldout);
  const held = c.evaluations.find((e) => e.heldout);
  const improved = c.improved == null ? "—" : c.improved ? "yes" : "no";
  const link = (other, cls, text) => (other ? h("a", { href: candidateHash(other), class: cls }, text) : "—");
  const ref = sets(job.detail?.reference);
  const rows = [
    ["model", h("span", {}, swatch(c.model), c.model)], ["op", c.op], ["generation", c.generation],
    ["status", badge(c.status)], ["score", h("span", { title: String(c.score) }, fmt(c.score))],
    ...(c.share == null ? [] : [["share", shareWords(c.share, ref.train)]]),
    ["held-out", heldoutCell(c, held)],
    ...(c.heldout_share == null ? [] : [["held-out share", shareWords(c.heldout_share, ref.heldout)]]),
    ["gap", signed(c.gap)], ["training seeds", seeds(training?.seeds)],
    ["held-out seeds", seeds(held?.seeds)], ["improved", improved], ["tokens", `${c.tokens_in} in / ${c.tokens_out} out`], ["cost", money(c.cost)],
    ["latency", `${fmt(c.latency_ms)} ms`],
    ["parent", link(c.parent, "parent", c.parent && `#${c.parent.id} (${c.parent.op}, ${score(c.parent)})`)],
  ];
  const target = c.target && `#${c.target.id} (${c.target.model}, ${score(c.target)})`;
  if (c.target) rows.push(["target", link(c.target, "target", target)]);
  const choice = c.choice || {};  // what the selection gave the try, and how its reply edited the code
  if (choice.inspirations?.length) {
    rows.push(["ideas from", choice.inspirations.map((id) => `#${id}`).join(" ") + (choice.why ? ` (${choice.why})` : "")]);
  }
  if (choice.edit) rows.push(["edit", choice.edit === "diff" ? "SEARCH/REPLACE blocks on the code shown" : "whole code"]);
  const heldMetrics = held && Object.keys(held.metrics).length ? held.metrics : null;
  const metrics = Object.entries(c.metrics).map(([key, value]) => h("tr", {}, h("td", {}, key), num(fmt(value)),
    heldMetrics && num(fmt(heldMetrics[key]))));
  const metricColumns = heldMetrics ? { metric: "", training: "num", "held-out": "num" } : { metric: "", value: "num" };
  const failure = c.status !== "ok" && h("div", { class: "error-box" }, h("strong", {}, c.status), ": ",
    c.error || "no reason given", c.error_line ? ` (line ${c.error_line})` : "");
  const exported = c.code && h("a", { class: "export", href: `/candidates/${c.id}/export` }, "export .py");
  return [
    h("h2", {}, `Candidate #${c.id} `, exported),
    h("dl", { class: "facts" }, facts(rows)),
    failure,
    h("h3", {}, "Code"),
    c.code ? code(c.code, c.error_line) : h("p", { class: "muted" }, "No code: the reply had none (see it below)."),
    h("h3", {}, c.parent ? `Diff against #${c.parent.id}` : "Diff"),
    diff(c),
    h("h3", {}, "Metrics"),
    metrics.length ? table("metrics", metricColumns, metrics) : h("p", { class: "muted" }, "None."),
    ...charts(c, run),
    conversation(c),
  ].filter(Boolean);
}

const score = (c) => (c.status === "ok" ? fmt(c.score) : c.status);

function heldoutCell(c, held) {
  // the held-out score, or why there is none (the status and error of a held-out run that failed)
  if (c.heldout_status == null) return "—";
  if (c.heldout_score != null) return h("span", { title: String(c.heldout_score) }, fmt(c.heldout_score));
  const why = held?.error ? `: ${held.error}${held.error_line ? ` (line ${held.error_line})` : ""}` : "";
  return h("span", { class: "error-text" }, `${c.heldout_status}${why}`);
}

function code(text, errorLine) {
  // one span a line (numbered by CSS), so the text is exactly the code and the failing line can be marked
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const last = lines.length - 1;
  return h("pre", { class: "code" }, lines.map((line, i) => [
    h("span", { class: i + 1 === errorLine ? "line err-line" : "line" }, line),
    i < last || text.endsWith("\n") ? "\n" : null,
  ]));
}

function diff(c) {
  if (c.diff == null) return h("p", { class: "muted" }, "No parent: nothing to compare with.");
  if (!c.diff) return h("p", { class: "muted" }, "The same code as its parent.");
  const kind = (line) => {
    if (line.startsWith("+++") || line.startsWith("---")) return "meta";
    return { "+": "add", "-": "del", "@": "hunk" }[line[0]] || "same";
  };
  const lines = c.diff.split("\n");
  return h("pre", { class: "diff" }, lines.map((line, i) => [
    h("span", { class: kind(line) }, line),
    i < lines.length - 1 ? "\n" : null,
  ]));
}

function charts(c, run) {
  // the charts of the candidate's run, drawn here from GET /candidates/ID/run.json (`run`: that request, if already
  // sent): one per panel, sharing the day axis (drag to zoom on the days, double-click to reset, hover for a day's
  // values); the PNG of them to download
  if (c.status !== "ok") {
    const why = `No charts: candidate #${c.id} did not run to the end (${c.status}), so there is no run to draw.`;
    return [h("h3", {}, "Charts"), h("p", { class: "muted no-chart" }, why)];
  }
  const png = h("a", { class: "png", href: `/candidates/${c.id}/chart.png`, download: `candidate_${c.id}.png` },
    "download PNG");
  const note = h("p", { class: "muted chart-note" }, "drawing… (the candidate runs again to draw its charts)");
  const box = h("div", { class: "charts", "data-candidate": c.id }, note);
  (run || api(`/candidates/${c.id}/run.json`)).then(
    (data) => {
      if (!box.isConnected) return; // another candidate was chosen meanwhile
      try {
        plot(box, data);
        note.remove();
      } catch (err) {
        note.textContent = `the charts could not be drawn (${err.message})`;
      }
    },
    (err) => (note.textContent = err.message),
  );
  return [h("h3", { class: "charts-head" }, "Charts", png), box];
}

function plot(box, run) {
  // a uPlot chart per panel in `box`, as wide as it is, their cursors (and zoom) moving together
  const day = { label: "day", value: (u, x) => (x == null ? "—" : String(x)) };
  const plots = run.panels.map((panel) => {
    const series = panel.lines.map((line) => ({ label: line.label, stroke: line.color, width: 1.5,
      value: (u, y) => fmt(y) }));
    const options = {
      title: panel.title, width: box.clientWidth, height: CHART_HEIGHT,
      scales: { x: { time: false } },
      axes: [{}, { size: 64, values: (u, ticks) => ticks.map(fmt) }],
      cursor: { sync: { key: `run-${run.candidate_id}` }, drag: { x: true, y: false } },
      series: [day, ...series],
    };
    const target = h("div", { class: "chart-panel" });
    box.append(target);
    return new uPlot(options, [run.days, ...panel.lines.map((line) => run.columns[line.key])], target);
  });
  let width = box.clientWidth;
  const resized = new ResizeObserver(() => {
    if (!box.isConnected) return resized.disconnect();
    if (box.clientWidth === width) return;
    width = box.clientWidth;
    for (const chart of plots) chart.setSize({ width, height: CHART_HEIGHT });
  });
  resized.observe(box);
}

function conversation(c) {
  if (!c.prompt && !c.reply) return null;
  const messages = (c.prompt || []).map((m) => [h("h4", {}, m.role), h("pre", { class: "message" }, m.content)]);
  return h("details", { class: "conversation" }, h("summary", {}, "Prompt and reply"), messages,
    c.reply != null && [h("h4", {}, "reply"), h("pre", { class: "message reply" }, c.reply)]);
}

window.addEventListener("hashchange", route);
route();
