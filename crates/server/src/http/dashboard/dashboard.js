// eardrum's dashboard: browse or search series, draw them with uPlot.
//
// Everything it shows comes from the server's own HTTP API: names from
// /metrics/find and /api/v1/series, points from Graphite's /render (so a
// chart's target may be any render expression), totals from
// /api/v1/stats. The page's state (charts, range, refresh) lives in the
// URL's fragment, so a view can be bookmarked and shared.
"use strict";

const PRESETS = ["5min", "15min", "1h", "6h", "24h", "7d", "30d"];
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const LIST_LIMIT = 500;
const TOKEN_KEY = "eardrum.token";

const state = {
  charts: [{ targets: [] }],
  active: 0,
  range: { preset: "1h" },
  refresh: 0,
};
const plots = new Map(); // chart card element -> uPlot
let refreshTimer = null;

const $ = (id) => document.getElementById(id);

// ---- the server ----------------------------------------------------------

async function api(path, params, method = "GET") {
  const headers = {};
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let url = path;
  const init = { method, headers };
  if (method === "POST") {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    init.body = params;
  } else if (params) {
    url += `?${params}`;
  }
  const response = await fetch(url, init);
  if (response.status === 401) {
    $("token-bar").hidden = false;
    throw new Error("this server needs a token");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function rangeParams() {
  const range = state.range;
  return range.preset ? { from: `-${range.preset}`, until: "now" } : { from: range.from, until: range.until };
}

// ---- the URL fragment ----------------------------------------------------

function saveState() {
  const params = new URLSearchParams();
  if (state.range.preset) params.set("range", state.range.preset);
  else {
    params.set("from", state.range.from);
    params.set("until", state.range.until);
  }
  if (state.refresh) params.set("refresh", state.refresh);
  for (const chart of state.charts) params.append("chart", JSON.stringify(chart.targets));
  history.replaceState(null, "", `#${params}`);
}

function loadState() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("from") && params.get("until")) {
    state.range = { from: Number(params.get("from")), until: Number(params.get("until")) };
  } else if (PRESETS.includes(params.get("range"))) {
    state.range = { preset: params.get("range") };
  }
  state.refresh = Number(params.get("refresh")) || 0;
  const charts = params.getAll("chart").map((text) => {
    try {
      const targets = JSON.parse(text);
      return Array.isArray(targets) ? { targets: targets.map(String) } : null;
    } catch {
      return null;
    }
  });
  if (charts.length && charts.every(Boolean)) state.charts = charts;
}

// ---- the series list -----------------------------------------------------

function item(label, className, onClick) {
  const li = document.createElement("li");
  li.className = className;
  const span = document.createElement("span");
  span.textContent = label;
  span.title = label;
  span.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick(li);
  });
  li.append(span);
  return li;
}

function note(text) {
  const li = document.createElement("li");
  li.className = "note";
  li.textContent = text;
  return li;
}

function leaf(key, label) {
  const li = item(label, "leaf", () => toggleTarget(key));
  li.dataset.key = key;
  li.classList.toggle("charted", activeTargets().includes(key));
  return li;
}

// One level of the tree under `prefix` ("" for the top), from /metrics/find.
async function fillLevel(list, prefix) {
  list.replaceChildren(note("loading…"));
  try {
    const nodes = await api("/metrics/find", new URLSearchParams({ query: prefix ? `${prefix}.*` : "*" }));
    list.replaceChildren();
    for (const node of nodes) {
      if (node.leaf) {
        list.append(leaf(node.id, node.text));
        continue;
      }
      const branch = item(node.text, "branch", async (li) => {
        li.classList.toggle("open");
        let children = li.querySelector("ul");
        if (!li.classList.contains("open")) {
          children?.remove();
          return;
        }
        children = document.createElement("ul");
        li.append(children);
        // A key can be a series and a branch at once (palm.mem beside
        // palm.mem.free): offer the series itself first.
        const own = await api("/api/v1/series", new URLSearchParams({ match: node.id }));
        await fillLevel(children, node.id);
        if (own.series.length) children.prepend(leaf(node.id, `${node.text} (itself)`));
      });
      list.append(branch);
    }
    if (!nodes.length) list.append(note(prefix ? "nothing below" : "no series yet"));
  } catch (error) {
    list.replaceChildren(note(error.message));
  }
}

async function search() {
  const pattern = $("search").value.trim();
  const list = $("series-list");
  $("search-actions").hidden = !pattern;
  if (!pattern) return fillLevel(list, "");
  try {
    const { series } = await api("/api/v1/series", new URLSearchParams({ match: pattern }));
    if (pattern !== $("search").value.trim()) return; // a newer search is on its way
    $("search-count").textContent = `${series.length} series`;
    list.replaceChildren(...series.slice(0, LIST_LIMIT).map((key) => leaf(key, key)));
    if (series.length > LIST_LIMIT) list.append(note(`and ${series.length - LIST_LIMIT} more: narrow the pattern`));
    if (!series.length) list.append(note("no series match"));
  } catch (error) {
    $("search-count").textContent = "";
    list.replaceChildren(note(error.message));
  }
}

function markCharted() {
  const targets = activeTargets();
  for (const li of document.querySelectorAll("#series-list .leaf")) {
    li.classList.toggle("charted", targets.includes(li.dataset.key));
  }
}

// ---- charts --------------------------------------------------------------

function activeTargets() {
  return state.charts[state.active]?.targets ?? [];
}

function toggleTarget(target) {
  if (!state.charts.length) state.charts.push({ targets: [] });
  const targets = state.charts[state.active].targets;
  const at = targets.indexOf(target);
  if (at >= 0) targets.splice(at, 1);
  else targets.push(target);
  changed();
}

function changed() {
  saveState();
  markCharted();
  renderCharts();
}

function renderCharts() {
  const area = $("charts");
  for (const plot of plots.values()) plot.destroy();
  plots.clear();
  area.replaceChildren();
  state.charts.forEach((chart, index) => {
    const card = document.createElement("div");
    card.className = `chart${index === state.active ? " active" : ""}`;
    card.addEventListener("click", () => {
      if (state.active === index) return;
      state.active = index;
      document.querySelectorAll(".chart").forEach((c, i) => c.classList.toggle("active", i === index));
      markCharted();
    });
    const head = document.createElement("div");
    head.className = "chart-head";
    for (const target of chart.targets) {
      const chip = document.createElement("span");
      chip.className = "chip";
      chip.textContent = target;
      const remove = document.createElement("button");
      remove.textContent = "×";
      remove.title = `remove ${target}`;
      remove.addEventListener("click", (event) => {
        event.stopPropagation();
        chart.targets.splice(chart.targets.indexOf(target), 1);
        changed();
      });
      chip.append(remove);
      head.append(chip);
    }
    const close = document.createElement("button");
    close.className = "remove";
    close.textContent = "Remove chart";
    close.addEventListener("click", (event) => {
      event.stopPropagation();
      state.charts.splice(index, 1);
      state.active = Math.max(0, Math.min(state.active, state.charts.length - 1));
      changed();
    });
    head.append(close);
    const body = document.createElement("div");
    body.className = "plot";
    card.append(head, body);
    area.append(card);
    drawChart(chart, body);
  });
}

// Fetches a chart's targets from /render at about one point per pixel and
// draws them; on a refresh, a plot of the same series is given the new data
// rather than rebuilt.
async function drawChart(chart, body) {
  if (!chart.targets.length) {
    body.replaceChildren(Object.assign(document.createElement("div"), {
      className: "empty",
      textContent: "Pick series on the left (or chart a pattern) to draw them here.",
    }));
    return;
  }
  const width = Math.max(300, body.clientWidth);
  const params = new URLSearchParams({ ...rangeParams(), format: "json", maxDataPoints: Math.floor(width) });
  chart.targets.forEach((target) => params.append("target", target));
  let rendered;
  try {
    rendered = await api("/render", params, "POST");
  } catch (error) {
    body.replaceChildren(Object.assign(document.createElement("div"), { className: "error", textContent: error.message }));
    return;
  }
  const times = [...new Set(rendered.flatMap((s) => s.datapoints.map((p) => p[1])))].sort((a, b) => a - b);
  const slot = new Map(times.map((t, i) => [t, i]));
  const columns = rendered.map((s) => {
    const values = new Array(times.length).fill(null);
    for (const [value, time] of s.datapoints) values[slot.get(time)] = value;
    return values;
  });
  const data = [times, ...columns];
  body.dataset.series = JSON.stringify(rendered.map((s) => s.target));
  // What is drawn, for people and tests inspecting the page.
  body.dataset.points = String(columns.reduce((n, c) => n + c.filter((v) => v !== null).length, 0));
  body.dataset.last = JSON.stringify(columns.map((c) => c.findLast((v) => v !== null) ?? null));
  const existing = plots.get(body);
  if (existing && existing.series.length === data.length
      && rendered.every((s, i) => existing.series[i + 1].label === s.target)) {
    existing.setData(data);
    return;
  }
  existing?.destroy();
  body.replaceChildren();
  if (!rendered.length) {
    body.append(Object.assign(document.createElement("div"), { className: "empty", textContent: "No series match." }));
    return;
  }
  const plot = new uPlot({
    width,
    height: 300,
    series: [
      {},
      ...rendered.map((s, i) => ({
        label: s.target,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        points: { show: false },
        value: (u, v) => (v == null ? "–" : formatValue(v)),
      })),
    ],
    axes: [{}, { size: 64, values: (u, ticks) => ticks.map(formatValue) }],
    scales: { x: { time: true } },
  }, data, body);
  plots.set(body, plot);
}

function formatValue(v) {
  const magnitude = Math.abs(v);
  if (magnitude >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (magnitude >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (magnitude >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, "");
}

// Redraws every chart with fresh data (the auto-refresh).
async function refreshAll() {
  const cards = document.querySelectorAll(".chart .plot");
  await Promise.all(state.charts.map((chart, i) => cards[i] && drawChart(chart, cards[i])));
  await showSummary();
}

// The footer: when the charts were updated, and the store's totals.
async function showSummary() {
  $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  try {
    const stats = await api("/api/v1/stats");
    $("summary").textContent = `${stats.series.toLocaleString()} series, ${stats.points.toLocaleString()} points`;
  } catch {
    $("summary").textContent = "";
  }
}

function setRefresh(seconds) {
  state.refresh = seconds;
  clearInterval(refreshTimer);
  refreshTimer = seconds ? setInterval(() => document.hidden || refreshAll(), seconds * 1000) : null;
  saveState();
}

// ---- the header ----------------------------------------------------------

function toLocalInput(seconds) {
  const date = new Date(seconds * 1000);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function showRange() {
  for (const button of $("ranges").children) {
    button.classList.toggle("selected", button.dataset.preset === state.range.preset);
  }
  const { from, until } = state.range.preset
    ? { from: Date.now() / 1000 - presetSeconds(state.range.preset), until: Date.now() / 1000 }
    : state.range;
  $("custom-from").value = toLocalInput(from);
  $("custom-until").value = toLocalInput(until);
}

function presetSeconds(preset) {
  const count = parseInt(preset, 10);
  const unit = preset.replace(/^\d+/, "");
  return count * { min: 60, h: 3600, d: 86400 }[unit];
}

function setup() {
  loadState();
  for (const preset of PRESETS) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.preset = preset;
    button.textContent = preset.replace("min", "m");
    button.addEventListener("click", () => {
      state.range = { preset };
      showRange();
      saveState();
      renderCharts();
    });
    $("ranges").append(button);
  }
  $("custom-range").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = Math.floor(new Date($("custom-from").value).getTime() / 1000);
    const until = Math.floor(new Date($("custom-until").value).getTime() / 1000);
    if (!(from < until)) {
      $("status").textContent = "the custom range must start before it ends";
      return;
    }
    state.range = { from, until };
    showRange();
    saveState();
    renderCharts();
  });
  $("refresh").value = String(state.refresh);
  $("refresh").addEventListener("change", (event) => setRefresh(Number(event.target.value)));
  $("new-chart").addEventListener("click", () => {
    state.charts.push({ targets: [] });
    state.active = state.charts.length - 1;
    changed();
  });
  $("chart-pattern").addEventListener("click", () => toggleTarget($("search").value.trim()));
  let typing = null;
  $("search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(search, 250);
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(TOKEN_KEY, $("token").value);
    $("token-bar").hidden = true;
    search();
    renderCharts();
    showSummary();
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(renderCharts, 200);
  });
  showRange();
  setRefresh(state.refresh);
  search();
  renderCharts();
  showSummary();
}

setup();
