// txwatch live dashboard: polls the worker's JSON views and draws them.
// Plain browser JavaScript, no build step. Every value taken from a
// transaction is inserted as text, never as HTML: user ids and categories
// come from outside and may contain markup.
"use strict";

const STATS_EVERY_MS = 2000;
const ALERTS_EVERY_MS = 3000;
const HEALTH_EVERY_MS = 5000;
const LEVELS = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  return { status: response.status, body };
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function levelCell(row, level) {
  const td = cell(row, "");
  const span = document.createElement("span");
  span.className = `level level-${LEVELS.includes(level) ? level : "LOW"}`;
  span.textContent = level;
  td.appendChild(span);
}

function timeText(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? String(iso) : when.toLocaleTimeString();
}

function cssColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// A line chart of `values` (one per second) on a canvas; records what it drew
// in data attributes so that tests and curious users can check it.
function drawLine(canvas, values, color, unit) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  const pad = { left: 44, right: 8, top: 10, bottom: 18 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = Math.max(1e-9, ...values) * 1.15;
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = cssColor("--muted");
  ctx.strokeStyle = cssColor("--line");
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.top + plotH - (plotH * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(width - pad.right, y);
    ctx.stroke();
    ctx.fillText(fmt.format((top * i) / 4) + unit, 2, y + 4);
  }
  ctx.fillText("-60 s", pad.left, height - 4);
  ctx.fillText("now", width - pad.right - 22, height - 4);
  if (values.length < 2) return;
  const x = (i) => pad.left + (plotW * i) / (values.length - 1);
  const y = (v) => pad.top + plotH - (plotH * v) / top;
  ctx.beginPath();
  values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.lineTo(x(values.length - 1), pad.top + plotH);
  ctx.lineTo(x(0), pad.top + plotH);
  ctx.closePath();
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
  canvas.dataset.points = String(values.length);
  canvas.dataset.max = String(Math.max(...values));
}

function drawLevels(byLevel) {
  const box = $("levels");
  const total = LEVELS.reduce((sum, level) => sum + (byLevel[level] || 0), 0);
  box.replaceChildren();
  for (const level of LEVELS) {
    const count = byLevel[level] || 0;
    const bar = document.createElement("div");
    bar.className = "bar";
    const name = document.createElement("span");
    name.textContent = level;
    const track = document.createElement("div");
    const fill = document.createElement("div");
    fill.className = `fill level-${level}`;
    fill.style.width = `${total ? (100 * count) / total : 0}%`;
    track.appendChild(fill);
    const label = document.createElement("span");
    label.className = "count";
    label.textContent = `${count.toLocaleString()} (${total ? fmt.format((100 * count) / total) : 0}%)`;
    bar.append(name, track, label);
    box.appendChild(bar);
  }
  box.dataset.total = String(total);
}

function drawPrecision(p) {
  const rows = [];
  for (const [by, table] of [["level", p.by_level], ["rule", p.by_rule], ["model", p.by_model]]) {
    for (const [name, r] of Object.entries(table)) {
      const row = document.createElement("tr");
      cell(row, by);
      cell(row, name);
      cell(row, r.settled.toLocaleString(), "num");
      cell(row, r.frauds.toLocaleString(), "num");
      cell(row, r.precision === null ? "–" : `${fmt.format(100 * r.precision)} %`, "num");
      rows.push(row);
    }
  }
  $("precision-table").tBodies[0].replaceChildren(...rows);
  const missed = `${p.missed_frauds.toLocaleString()} confirmed frauds were never alerted on.`;
  $("precision-note").textContent =
    p.measured_at === null ? "not measured yet" : rows.length ? missed : `no labelled alerts yet; ${missed}`;
}

async function refreshStats() {
  const { body: s } = await getJSON("/stats");
  const last = s.last_minute;
  $("worker").textContent = `worker ${s.worker}`;
  $("events-per-second").textContent = fmt.format(last.events_per_second);
  $("alert-rate").textContent = `${fmt.format(100 * last.alert_rate)} %`;
  const lat = s.latency_ms;
  $("latency").textContent =
    lat.samples ? `${fmt.format(lat.p50)} / ${fmt.format(lat.p95)} / ${fmt.format(lat.p99)} ms` : "–";
  $("processed").textContent = s.processed.toLocaleString();
  $("alerts").textContent = s.alerts.toLocaleString();
  $("dead-letters").textContent = s.dead_letters.toLocaleString();
  $("lag").textContent = s.kafka.lag === null ? "–" : s.kafka.lag.toLocaleString();
  $("database").textContent = s.database.summary;
  $("model").textContent = s.model_version || "rules only";
  $("cluster-alerts").textContent =
    s.cluster.error ? s.cluster.error : s.cluster.alerts_last_hour.toLocaleString();
  const events = s.timeline.map((second) => second.events);
  const rates = s.timeline.map((second) => (second.events ? (100 * second.alerts) / second.events : 0));
  drawLine($("throughput-chart"), events, cssColor("--accent"), "");
  drawLine($("alert-rate-chart"), rates, cssColor("--alert"), "%");
  drawLevels(s.by_level);
  drawPrecision(s.alert_precision);
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function refreshHealth() {
  const badge = $("health");
  try {
    const { body } = await getJSON("/health");
    badge.dataset.state = body.status;
    badge.textContent = body.status === "ok" ? "healthy" : body.problems.join("; ");
  } catch (err) {
    badge.dataset.state = "unreachable";
    badge.textContent = "worker unreachable";
  }
}

function alertRow(alert, withUser) {
  const row = document.createElement("tr");
  cell(row, timeText(alert.detection_time));
  if (withUser) {
    const td = cell(row, "");
    const link = document.createElement("a");
    link.href = "#lookup";
    link.textContent = alert.user_id;
    link.addEventListener("click", () => lookUp(alert.user_id));
    td.appendChild(link);
  }
  cell(row, `${money.format(alert.amount)} ${alert.currency || ""}`.trim(), "num");
  cell(row, fmt.format(alert.risk_score), "num");
  levelCell(row, alert.risk_level);
  cell(row, (alert.reasons || []).join(", "));
  if (withUser) cell(row, alert.recommendation || "");
  return row;
}

async function refreshAlerts() {
  const { status, body } = await getJSON("/anomalies?limit=15");
  const note = $("alerts-note");
  if (status !== 200) {
    note.textContent = body.error || `HTTP ${status}`;
    return;
  }
  $("alerts-table").tBodies[0].replaceChildren(...body.anomalies.map((a) => alertRow(a, true)));
  note.textContent = body.count ? "" : "no alerts stored yet";
}

async function lookUp(userId) {
  const message = $("lookup-message");
  const result = $("lookup-result");
  $("lookup-user").value = userId;
  message.textContent = "looking up…";
  const path = `/users/${encodeURIComponent(userId)}`;
  const [{ status, body }, alerts] = await Promise.all([
    getJSON(path),
    getJSON(`/anomalies?limit=20&user_id=${encodeURIComponent(userId)}`),
  ]);
  if (status !== 200) {
    result.hidden = true;
    message.textContent = body.error || `HTTP ${status}`;
    return;
  }
  const p = body.profile;
  const typical = Math.exp(p.amount_log_mean);
  const top = (counts) =>
    Object.entries(counts || {})
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, n]) => `${name} (${n})`)
      .join(", ") || "–";
  const facts = [
    ["transactions", p.count.toLocaleString()],
    ["typical amount", money.format(typical)],
    ["locations", top(p.locations)],
    ["merchant categories", top(p.merchant_categories)],
    ["payment methods", top(p.payment_methods)],
    ["devices", top(p.devices)],
    ["first seen", p.first_seen ? new Date(p.first_seen * 1000).toISOString() : "–"],
    ["last seen", p.last_seen ? new Date(p.last_seen * 1000).toISOString() : "–"],
  ];
  const dl = $("lookup-profile");
  dl.replaceChildren();
  for (const [name, value] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
  const rows = alerts.status === 200 ? alerts.body.anomalies.map((a) => alertRow(a, false)) : [];
  $("lookup-alerts").tBodies[0].replaceChildren(...rows);
  result.hidden = false;
  message.textContent = alerts.status === 200 ? "" : alerts.body.error;
}

function every(ms, task) {
  const run = () =>
    task().catch((err) => {
      // A worker restarting is expected: show it, keep polling, don't throw.
      $("health").dataset.state = "unreachable";
      $("health").textContent = `worker unreachable (${err.message})`;
    });
  run();
  return setInterval(run, ms);
}

document.addEventListener("DOMContentLoaded", () => {
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const userId = $("lookup-user").value.trim();
    if (userId) lookUp(userId);
  });
  every(STATS_EVERY_MS, refreshStats);
  every(ALERTS_EVERY_MS, refreshAlerts);
  every(HEALTH_EVERY_MS, refreshHealth);
});
