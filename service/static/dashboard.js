// The fleet dashboard: the API with the key the user gives (kept for this tab only), polled every
// POLL_MS. The fleet table from GET /fleet; the selected vehicle's plots from its history, forecast
// and alerts. Times arrive in unix seconds, fractions as fractions (shown in %).
"use strict";

const POLL_MS = 2000;
const ui = {
  key: document.getElementById("key"),
  status: document.getElementById("status"),
  tbody: document.querySelector("#fleet-table tbody"),
  vehicle: document.getElementById("vehicle"),
};
let selected = null;   // vehicle id
let series = null;     // {t, soc, lo, hi, sohC, sohR, temp, since}
let plots = {};
let timer = null;

const pct = (x) => (x == null ? "–" : (100 * x).toFixed(1) + " %");
const num = (x, d) => (x == null ? "–" : x.toFixed(d));
const when = (t) => (t == null ? "–" : new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19));

async function api(path) {
  const r = await fetch(path, { headers: { "X-API-Key": ui.key.value.trim() } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    const err = new Error(typeof body.detail === "string" ? body.detail : r.status + " " + r.statusText);
    err.status = r.status;
    throw err;
  }
  return body;
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderFleet(fleet) {
  document.getElementById("fleet-name").textContent = fleet.fleet;
  ui.tbody.replaceChildren();
  for (const v of fleet.vehicles) {
    const s = v.state, row = ui.tbody.insertRow();
    row.dataset.vehicle = v.vehicle_id;
    if (v.vehicle_id === selected) row.classList.add("selected");
    cell(row, v.vehicle_id, "id");
    cell(row, s.soc == null ? "–" : pct(s.soc) + " ± " + pct(s.soc_std), "soc");
    cell(row, pct(s.soh_capacity) + (s.soh_capacity_std == null ? "" : " ± " + pct(s.soh_capacity_std)),
         "soh-capacity");
    cell(row, pct(s.soh_resistance), "soh-resistance");
    cell(row, num(s.temperature_degC, 1) + " °C", "temperature");
    cell(row, num(s.efc, 2), "efc");
    cell(row, when(s.last_sample_t), "last");
    cell(row, String(v.samples_stored), "samples");
    const latest = v.alerts.length ? v.alerts[0].kind + ": " + v.alerts[0].message : "none";
    cell(row, v.alert_count ? v.alert_count + " (" + latest + ")" : "none", "alerts" + (v.alert_count ? " raised" : ""));
    row.addEventListener("click", () => select(v.vehicle_id));
  }
}

function makePlot(id, labels, colors, fillBetween) {
  const el = document.getElementById(id);
  const width = Math.max(el.clientWidth || 480, 320);
  const opts = {
    width, height: 220,
    scales: { x: { time: true } },
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i], width: 1.5 }))],
  };
  if (fillBetween) opts.bands = [{ series: fillBetween, fill: "rgba(33,102,172,0.15)" }];
  el.replaceChildren();
  return new uPlot(opts, [[], ...labels.map(() => [])], el);
}

function select(vid) {
  selected = vid;
  series = { t: [], soc: [], lo: [], hi: [], sohC: [], sohR: [], temp: [], since: 0 };
  ui.vehicle.hidden = false;
  document.getElementById("vehicle-title").textContent = "Vehicle " + vid;
  for (const row of ui.tbody.rows) row.classList.toggle("selected", row.dataset.vehicle === vid);
  plots = {
    soc: makePlot("plot-soc", ["SOC + 2σ", "SOC", "SOC − 2σ"], ["#92c5de", "#2166ac", "#92c5de"], [1, 3]),
    soh: makePlot("plot-soh", ["SOH capacity", "SOH resistance"], ["#1b7837", "#b35806"]),
    temp: makePlot("plot-temp", ["temperature"], ["#b2182b"]),
    forecast: makePlot("plot-forecast", ["SOH upper", "SOH", "SOH lower"], ["#a6dba0", "#1b7837", "#a6dba0"], [1, 3]),
  };
  refreshVehicle();
}

async function refreshVehicle() {
  if (!selected) return;
  const vid = encodeURIComponent(selected);
  const rows = await api(`/vehicles/${vid}/history?since=${series.since}`);
  for (const s of rows) {
    if (s.last_sample_t <= series.since) continue;  // a concurrent refresh added it already
    series.t.push(s.last_sample_t);
    series.soc.push(100 * s.soc);
    series.hi.push(100 * Math.min(1, s.soc + 2 * s.soc_std));
    series.lo.push(100 * Math.max(0, s.soc - 2 * s.soc_std));
    series.sohC.push(100 * s.soh_capacity);
    series.sohR.push(100 * s.soh_resistance);
    series.temp.push(s.temperature_degC);
    series.since = s.last_sample_t;
  }
  if (rows.length) {
    plots.soc.setData([series.t, series.hi, series.soc, series.lo]);
    plots.soh.setData([series.t, series.sohC, series.sohR]);
    plots.temp.setData([series.t, series.temp]);
  }
  const status = document.getElementById("forecast-status");
  try {
    const f = await api(`/vehicles/${vid}/forecast`);
    plots.forecast.setData([f.t, f.upper.map((x) => 100 * x), f.soh.map((x) => 100 * x), f.lower.map((x) => 100 * x)]);
    status.textContent = `${f.model}: 90 % interval, usage features from ${f.features_from}`;
  } catch (err) {
    status.textContent = "No forecast: " + err.message;
  }
  const alerts = await api(`/vehicles/${vid}/alerts`);
  const ul = document.getElementById("alerts");
  ul.replaceChildren(...alerts.map((a) => {
    const li = document.createElement("li");
    li.className = a.severity;
    li.textContent = `${when(a.t)} ${a.severity} ${a.kind}: ${a.message}`;
    return li;
  }));
  if (!alerts.length) ul.replaceChildren(Object.assign(document.createElement("li"), { textContent: "none" }));
}

async function poll() {
  try {
    renderFleet(await api("/fleet"));
    await refreshVehicle();
    ui.status.textContent = "live · " + new Date().toLocaleTimeString();
  } catch (err) {
    ui.status.textContent = err.status === 401 ? "unknown key" : "error: " + err.message;
  }
}

document.getElementById("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("evtwin-key", ui.key.value.trim());
  clearInterval(timer);
  poll();
  timer = setInterval(poll, POLL_MS);
});

const saved = sessionStorage.getItem("evtwin-key");
if (saved) {
  ui.key.value = saved;
  document.getElementById("connect").click();
}
