#pragma once
// The page `--serve` answers GET / with: one self-contained HTML document (inline
// CSS and JavaScript, no external assets) that fetches /stats every second and
// shows a processor group's or a view's statistics live, per partition.
// Stable ids for tests: title, state, total-processed, total-lag, total-rate,
// updated, error; one <tr data-partition="N"> per partition (and per input
// topic of a processor, with data-topic="T"). Two charts of the last minutes
// (from GET /history, drawn as inline SVG): <svg id="chart-rate"> (msg/s, or
// records/s of a view) and <svg id="chart-lag">, each with data-points (how
// many points its line has) and data-max (the largest value drawn).

#include <string_view>

namespace goka::cli {

inline constexpr std::string_view kMonitorPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>goka-cli</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  .sub { color: #666; margin-bottom: 1em; }
  .badge { display: inline-block; padding: 0 .5em; border-radius: .8em; background: #ddd; }
  .badge.running { background: #cdeccd; } .badge.recovering, .badge.starting { background: #fde9b8; }
  .badge.failed, .badge.error, .badge.stopped { background: #f6c6c6; }
  #error { background: #f6c6c6; border: 1px solid #d88; padding: .4em .8em; margin-bottom: 1em; }
  .totals { display: flex; gap: 2em; margin-bottom: 1em; }
  .totals div { font-size: .85em; color: #666; } .totals span { display: block; font-size: 1.5em; color: #222; }
  .totals em { font-style: normal; }
  table { border-collapse: collapse; background: #fff; }
  th, td { padding: .25em .8em; border-bottom: 1px solid #e4e4e4; text-align: right; }
  th { background: #f0f0f0; font-weight: 600; } td.l, th.l { text-align: left; }
  .lag { color: #b45309; font-weight: 600; } .stale { opacity: .6; }
  h2 { font-size: 1.05em; margin: 1.5em 0 .4em; }
  .charts { display: flex; flex-wrap: wrap; gap: 1em; margin-bottom: 1em; }
  .chart { margin: 0; background: #fff; border: 1px solid #e4e4e4; padding: .4em .6em; }
  .chart figcaption { font-size: .85em; color: #666; } .chart figcaption b { color: #222; }
  .chart svg { display: block; width: 420px; height: 130px; }
  .chart text { font: 10px system-ui, sans-serif; fill: #777; }
  .chart .grid { stroke: #eee; } .chart .axis { stroke: #ccc; }
</style>
</head>
<body>
<h1 id="title">goka-cli</h1>
<div class="sub"><span id="state" class="badge">loading</span> <span id="what"></span>
  &middot; <span id="updated">not updated yet</span></div>
<div id="error" role="alert" hidden></div>
<div id="figures">
  <div class="totals">
    <div><span id="total-processed">&ndash;</span><em id="processed-label">processed</em></div>
    <div><span id="total-lag">&ndash;</span><em>lag</em></div>
    <div><span id="total-rate">&ndash;</span><em>msg/s</em></div>
    <div><span id="total-bytes">&ndash;</span><em>bytes</em></div>
  </div>
  <div class="charts">
    <figure class="chart"><figcaption><span id="chart-rate-label">msg/s</span>, last minutes:
      <b id="chart-rate-now">&ndash;</b></figcaption>
      <svg id="chart-rate" viewBox="0 0 420 130" role="img" aria-label="throughput"></svg></figure>
    <figure class="chart"><figcaption>lag, last minutes: <b id="chart-lag-now">&ndash;</b></figcaption>
      <svg id="chart-lag" viewBox="0 0 420 130" role="img" aria-label="lag"></svg></figure>
  </div>
  <table><thead id="head"></thead><tbody id="rows"></tbody></table>
  <div id="lookups"></div>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
const known = (v) => typeof v === "number" && v >= 0;
const int = (v) => known(v) ? Math.round(v).toLocaleString("en-US") : "\u2013";
const rate = (v) => typeof v === "number" && isFinite(v) ? v.toFixed(1) : "\u2013";
const bytes = (v) => {
  if (!known(v)) return "\u2013";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : v) + " " + u[i];
};
const two = (n) => String(n).padStart(2, "0");
const clock = (d) => two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
const cell = (v, cls = "", rows = 1) => "<td" + (cls ? ' class="' + cls + '"' : "") +
    (rows > 1 ? ' rowspan="' + rows + '"' : "") + ">" + esc(v) + "</td>";
// A header row; the first `left` columns are text, aligned left.
const th = (names, left) => "<tr>" + names.map((n, i) => "<th" + (i < left ? ' class="l"' : "") +
    ">" + esc(n) + "</th>").join("") + "</tr>";

let previous = null;  // {at: ms, counts: {partition: processed or records}}
let lastOk = null;

// msg/s of a partition from the counts of two refreshes, else the server's.
function partitionRate(p, count, at) {
  const before = previous && previous.counts[p.partition];
  const seconds = previous ? (at - previous.at) / 1000 : 0;
  if (typeof before === "number" && typeof count === "number" && count >= before && seconds > 0.2)
    return (count - before) / seconds;
  return p.rate;
}

// at: when the fetch of s began (ms), nearest to when the server counted.
function render(s, at) {
  const processor = s.kind === "processor";
  const name = processor ? s.group : s.table;
  $("title").textContent = (processor ? "processor group " : "view ") + (name ?? "?");
  document.title = (name ?? "goka-cli") + " \u00b7 goka-cli";
  const parts = Array.isArray(s.partitions) ? s.partitions : [];
  $("what").textContent = (processor ? "table " + (s.table ?? "?") + " \u00b7 " : "") +
      parts.length + " partition(s)" + (s.errors ? " \u00b7 " + s.errors + " error(s)" : "");
  const state = String(s.state ?? "unknown");
  $("state").textContent = state;
  $("state").className = "badge " + state.replace(/[^a-z-]/gi, "");
  const counts = {};
  let total = 0, totalRate = 0, rated = false, html = "";
  for (const p of parts) {
    const count = processor ? p.processed : p.records;
    counts[p.partition] = count;
    const r = partitionRate(p, count, at);
    if (typeof r === "number") { totalRate += r; rated = true; }
    if (processor) {
      // One row per input topic; the partition's own figures span them.
      const topics = Object.entries(p.topics ?? {});
      if (!topics.length) topics.push(["", {}]);
      const n = topics.length;
      topics.forEach(([topic, t], i) => {
        html += '<tr data-partition="' + esc(p.partition) + '" data-topic="' + esc(topic) + '">' +
            (i ? "" : cell(p.partition, "l", n) + cell(p.state ?? "", "l", n)) + cell(topic, "l") +
            cell(int(t.committed)) + cell(int(t.high_watermark)) +
            cell(int(t.lag), t.lag > 0 ? "lag" : "") +
            (i ? "" : cell(int(p.processed), "", n) + cell(rate(r), "", n) +
                      cell(int(p.table_offset), "", n) + cell(int(p.table_high_watermark), "", n)) +
            "</tr>";
      });
    } else {
      html += '<tr data-partition="' + esc(p.partition) + '">' + cell(p.partition, "l") +
          cell(p.state ?? "", "l") + cell(int(p.offset)) + cell(int(p.high_watermark)) +
          cell(int(p.lag), p.lag > 0 ? "lag" : "") + cell(int(p.records)) + cell(rate(r)) + "</tr>";
    }
    if (typeof count === "number") total += count;
  }
  $("head").innerHTML = processor
      ? th(["partition", "state", "topic", "committed", "high watermark", "lag", "processed",
            "msg/s", "table offset", "table high watermark"], 3)
      : th(["partition", "state", "offset", "high watermark", "lag", "records", "msg/s"], 2);
  $("rows").innerHTML = html;
  const totals = s.totals ?? {};
  const shownTotal = parts.length ? total : processor ? totals.processed : totals.records;
  $("processed-label").textContent = processor ? "processed" : "records";
  $("total-processed").textContent = int(shownTotal);
  $("total-processed").dataset.value = shownTotal;
  $("total-lag").textContent = int(totals.lag);
  $("total-lag").dataset.value = totals.lag ?? "";
  $("total-rate").textContent = rate(rated ? totalRate : totals.rate);
  $("total-bytes").textContent = bytes(totals.bytes);
  const lookups = processor && Array.isArray(s.lookups) ? s.lookups : [];
  $("lookups").innerHTML = lookups.length
      ? "<h2>lookup tables</h2><table><thead>" +
            th(["table", "state", "partitions", "records", "lag"], 2) +
            "</thead><tbody>" + lookups.map((v) => '<tr data-table="' + esc(v.table) + '">' +
                cell(v.table ?? "", "l") + cell(v.state ?? "", "l") +
                cell((v.partitions ?? []).length) + cell(int(v.totals?.records)) +
                cell(int(v.totals?.lag)) + "</tr>").join("") + "</tbody></table>"
      : "";
  previous = {at, counts};
}

// A value axis from 0 to a round number at or above max.
function roundUp(max) {
  if (!(max > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= max) return m * step;
  return 10 * step;
}
const short = (v) => v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : v >= 1e4 ? (v / 1e3).toFixed(0) + "k"
    : v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);

// Draws series [[t ms, value]...] into svg: a line over the last minutes
// (at least one, at most five) up to the newest point, with its area, a
// value axis from 0 and a time axis in minutes before the newest point.
function drawChart(svg, series, color) {
  const W = 420, H = 130, L = 40, R = 8, T = 8, B = 20;
  const end = series.length ? series[series.length - 1][0] : Date.now();
  const span = Math.min(300000, Math.max(60000, series.length ? end - series[0][0] : 0));
  const shown = series.filter(([t]) => t >= end - span);
  const max = shown.reduce((m, [, v]) => Math.max(m, v), 0);
  const top = roundUp(max);
  const x = (t) => L + (W - L - R) * (1 - (end - t) / span);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  let html = "";
  for (const f of [0, 0.5, 1]) {
    html += '<line class="' + (f ? "grid" : "axis") + '" x1="' + L + '" x2="' + (W - R) +
        '" y1="' + y(top * f) + '" y2="' + y(top * f) + '"/>' +
        '<text x="' + (L - 4) + '" y="' + (y(top * f) + 3) + '" text-anchor="end">' +
        esc(short(top * f)) + "</text>";
  }
  const minutes = span / 60000;
  for (let m = 0; m <= minutes + 1e-9; m += minutes > 2 ? 1 : 0.5) {
    const anchor = m === 0 ? "end" : m + 1e-9 >= minutes ? "start" : "middle";
    html += '<text x="' + x(end - m * 60000) + '" y="' + (H - 6) + '" text-anchor="' + anchor + '">' +
        (m ? "-" + m + " min" : "now") + "</text>";
  }
  const coords = shown.map(([t, v]) => x(t).toFixed(1) + "," + y(v).toFixed(1));
  if (coords.length) {
    html += '<polygon fill="' + color + '" fill-opacity="0.15" points="' + x(shown[0][0]).toFixed(1) +
        "," + y(0) + " " + coords.join(" ") + " " + x(end).toFixed(1) + "," + y(0) + '"/>' +
        '<polyline fill="none" stroke="' + color + '" stroke-width="1.5" points="' +
        coords.join(" ") + '"/>';
  }
  if (coords.length === 1) {
    html += '<circle r="2.5" fill="' + color + '" cx="' + x(shown[0][0]) + '" cy="' + y(shown[0][1]) + '"/>';
  }
  svg.innerHTML = html;
  svg.dataset.points = coords.length;
  svg.dataset.max = max;
}

// The charts from GET /history: msg/s between samples (0 where the count
// went back, as after a restart) and the lag of each sample.
function renderHistory(h, processor) {
  const points = Array.isArray(h.points) ? h.points : [];
  const rates = [];
  for (let i = 1; i < points.length; i++) {
    const seconds = (points[i].t - points[i - 1].t) / 1000;
    const delta = points[i].count - points[i - 1].count;
    if (seconds > 0) rates.push([points[i].t, Math.max(0, delta) / seconds]);
  }
  const lags = points.filter((p) => known(p.lag)).map((p) => [p.t, p.lag]);
  $("chart-rate-label").textContent = processor ? "msg/s" : "records/s";
  drawChart($("chart-rate"), rates, "#2563eb");
  drawChart($("chart-lag"), lags, "#b45309");
  $("chart-rate-now").textContent = rates.length ? rate(rates[rates.length - 1][1]) : "\u2013";
  $("chart-lag-now").textContent = lags.length ? int(lags[lags.length - 1][1]) : "\u2013";
}

async function getJson(path) {
  const response = await fetch(path, {cache: "no-store", signal: AbortSignal.timeout(3000)});
  if (!response.ok) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

async function refresh() {
  const started = Date.now();
  let doing = "fetch";
  try {
    const [stats, history] = await Promise.all([getJson("stats"), getJson("history")]);
    doing = "show";
    render(stats, started);
    renderHistory(history, stats.kind === "processor");
    lastOk = new Date();
    $("updated").textContent = "updated " + clock(lastOk);
    $("error").hidden = true;
    $("figures").classList.remove("stale");
  } catch (e) {
    $("error").textContent = "cannot " + doing + " /stats: " + (e && e.message ? e.message : e) +
        (lastOk ? " \u2013 showing the figures of " + clock(lastOk) : "");
    $("error").hidden = false;
    $("figures").classList.add("stale");
  }
  setTimeout(refresh, Math.max(0, 1000 - (Date.now() - started)));
}
refresh();
</script>
</body>
</html>
)html";

}  // namespace goka::cli
