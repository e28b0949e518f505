// The fintra dashboard demo: plain JavaScript over fintra-http's Views and Pulse feed.
// Every number is read from the Views' JSON and written with its minor units in `data-minor`,
// so a test (or a curious reader) can compare what is shown with what the server said.
"use strict";

const state = {
  profile: null, tenant: null, cursor: null, filters: {}, refreshTimer: null,
  // The newest twin event the feed announced, and how often the views were found behind it.
  lastTwinEvent: 0, staleRetries: 0,
};
const $ = (selector) => document.querySelector(selector);

// Minor units as pounds: "-£1,234.56". Written out by hand so every browser shows the same text.
function money(minor) {
  const negative = minor < 0;
  const abs = Math.abs(minor);
  const pounds = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const pence = String(abs % 100).padStart(2, "0");
  return (negative ? "-" : "") + "£" + pounds + "." + pence;
}

function setMoney(selector, minor) {
  const el = $(selector);
  el.textContent = money(minor);
  el.dataset.minor = String(minor);
  el.classList.toggle("neg", minor < 0);
}

function setText(selector, text, value) {
  const el = $(selector);
  el.textContent = text;
  el.dataset.value = value === undefined ? text : String(value);
}

async function api(path) {
  const response = await fetch(`/v1/profile/${state.profile}${path}`, {
    headers: { "x-tenant-id": state.tenant },
    cache: "no-cache", // revalidate with the ETag: a 304 costs the server one lookup
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: ${body.error.code} ${body.error.message}`);
  return body;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (typeof cell === "object" && cell !== null) {
      td.textContent = cell.text;
      if (cell.className) td.className = cell.className;
      if (cell.minor !== undefined) td.dataset.minor = String(cell.minor);
    } else {
      td.textContent = cell;
    }
    tr.appendChild(td);
  }
  return tr;
}

async function renderSummary() {
  const v = await api("");
  // The views are projections: they may lag the feed by a moment. If this one does not yet
  // reflect the newest twin event announced, look again shortly (a few times at most).
  if (v._meta.net_worth.source_position < state.lastTwinEvent && state.staleRetries < 20) {
    state.staleRetries += 1;
    scheduleRefresh(200);
  } else {
    state.staleRetries = 0;
  }
  setText("#as-of", v.as_of);
  setMoney("#net-worth", v.net_worth.total_minor);
  setMoney("#net-worth-change", v.net_worth.change_30d_minor);
  setMoney("#assets", v.balance_sheet.total_assets_minor);
  setMoney("#debt", v.balance_sheet.total_debt_minor);
  const status = $("#cash-flow-status");
  setText("#cash-flow-status", v.cash_flow.status);
  status.className = "status " + v.cash_flow.status;
  const runway = v.cash_flow.days_runway;
  setText("#runway", runway === null ? "unlimited" : `${runway} days`, runway === null ? "" : runway);
  setMoney("#safe-to-spend", v.cash_flow.safe_to_spend_minor);
  setText("#solvency", String(v.solvency_score), v.solvency_score);
  const notices = $("#notices");
  notices.replaceChildren();
  for (const n of [...v.alerts, ...v.insights]) {
    const li = document.createElement("li");
    li.textContent = `${n.type}: ${n.message}`;
    notices.appendChild(li);
  }
  return v;
}

// A line (and optionally a band) chart: `series` of {t, v}, `band` of {t, lo, hi}.
function drawChart(svg, series, band, height) {
  const [w, h, pad] = [900, height, 50];
  const times = series.map((p) => p.t);
  const values = series.map((p) => p.v).concat(band.flatMap((b) => [b.lo, b.hi]));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const lo = Math.min(...values, 0 < Math.min(...values) ? Math.min(...values) : 0), hi = Math.max(...values, lo + 1);
  const x = (t) => pad + ((w - 2 * pad) * (t - t0)) / Math.max(1, t1 - t0);
  const y = (v) => h - pad / 2 - ((h - pad) * (v - lo)) / (hi - lo);
  const parts = [`<line x1="${pad}" y1="${y(lo)}" x2="${w - pad}" y2="${y(lo)}" stroke="#ccc"/>`];
  if (band.length) {
    const upper = band.map((b) => `${x(b.t).toFixed(1)},${y(b.hi).toFixed(1)}`);
    const lower = band.slice().reverse().map((b) => `${x(b.t).toFixed(1)},${y(b.lo).toFixed(1)}`);
    parts.push(`<polygon points="${upper.concat(lower).join(" ")}" fill="#1f6feb22" stroke="none"/>`);
  }
  const line = series.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  parts.push(`<polyline points="${line}" fill="none" stroke="${band.length ? "#1f6feb" : "#1d2330"}" stroke-width="2"/>`);
  if (series.length) {
    const first = series[0], last = series[series.length - 1];
    const day = (t) => new Date(t).toISOString().slice(0, 10);
    parts.push(`<text x="${pad}" y="${h - 4}" font-size="12" fill="#667085">${day(first.t)}</text>`);
    parts.push(`<text x="${w - pad}" y="${h - 4}" font-size="12" fill="#667085" text-anchor="end">${day(last.t)}</text>`);
    parts.push(`<text x="${w - pad}" y="${y(last.v) - 8}" font-size="12" text-anchor="end">${money(last.v)}</text>`);
    parts.push(`<text x="${pad + 4}" y="${y(first.v) - 8}" font-size="11" fill="#667085">${money(first.v)}</text>`);
  }
  svg.innerHTML = parts.join("");
  svg.dataset.points = String(series.length);
}

function chart(points, forecast) {
  const series = points.map((p) => ({ t: Date.parse(p.date), v: p.net_worth_minor }));
  drawChart($("#net-worth-chart"), series, [], 240);
  const days = (forecast && forecast.days) || [];
  const mid = days.map((d) => ({ t: Date.parse(d.date), v: d.p50_minor }));
  const band = days.map((d) => ({ t: Date.parse(d.date), lo: d.p10_minor, hi: d.p90_minor }));
  drawChart($("#forecast-chart"), mid, band, 200);
}

async function renderTimeline() {
  const [timeline, forecast] = await Promise.all([
    api("/networth"),
    fetch("/demo/forecast").then((r) => r.json()).catch(() => null),
  ]);
  chart(timeline.points, forecast && forecast.days ? forecast : null);
  const note = $("#forecast-note");
  if (forecast && forecast.days) {
    const last = forecast.days[forecast.days.length - 1];
    note.textContent = `cash forecast from ${forecast.as_of}: ${money(last.p50_minor)} in ${forecast.days.length} days ` +
      `(P10 ${money(last.p10_minor)}, P90 ${money(last.p90_minor)})`;
  } else {
    note.textContent = forecast && forecast.error ? `no forecast: ${forecast.error}` : "";
  }
}

async function renderSpend() {
  const spend = await api("/spend");
  const months = spend.months.slice(-6);
  const categories = [...new Set(months.flatMap((m) => m.categories.map((c) => c.category)))].sort();
  const thead = $("#spend-table thead"), tbody = $("#spend-table tbody");
  const head = document.createElement("tr");
  for (const label of ["category", ...months.map((m) => m.month)]) {
    const th = document.createElement("th");
    th.textContent = label;
    if (label !== "category") th.className = "num";
    head.appendChild(th);
  }
  thead.replaceChildren(head);
  tbody.replaceChildren();
  for (const category of categories) {
    const cells = months.map((m) => {
      const c = m.categories.find((c) => c.category === category);
      const minor = c ? c.spend_minor : 0;
      return { text: minor ? money(minor) : "", minor, className: "num" };
    });
    tbody.appendChild(row([category, ...cells]));
  }
  tbody.appendChild(row(["total", ...months.map((m) => ({ text: money(m.total_minor), minor: m.total_minor, className: "num" }))]));
  // The category filter offers every top-level category seen.
  const select = $("#filter-category");
  const current = select.value;
  const tops = [...new Set(categories.map((c) => c.split(" > ")[0]))].sort();
  select.replaceChildren(new Option("all", ""), ...tops.map((t) => new Option(t, t)));
  select.value = tops.includes(current) ? current : "";
}

async function renderRecurring() {
  const r = await api("/recurring");
  const tbody = $("#recurring-table tbody");
  tbody.replaceChildren(...r.streams.map((s) =>
    row([s.type, s.merchant, { text: money(s.amount_minor), minor: s.amount_minor, className: "num" },
      s.frequency.toLowerCase(), s.next_expected_date])));
}

function transactionsQuery(cursor) {
  const q = new URLSearchParams({ limit: "50" });
  for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, v);
  if (cursor) q.set("cursor", cursor);
  return `/transactions?${q}`;
}

async function renderTransactions(append) {
  const page = await api(transactionsQuery(append ? state.cursor : null));
  const tbody = $("#transactions-table tbody");
  const rows = page.transactions.map((t) => {
    const tr = row([t.date, t.description, t.merchant || "", t.category || "",
      { text: money(t.amount_minor), minor: t.amount_minor, className: "num" + (t.amount_minor < 0 ? " neg" : "") }]);
    tr.dataset.id = t.transaction_id;
    tr.dataset.category = t.category_l1 || "";
    return tr;
  });
  if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
  state.cursor = page.next_cursor;
  $("#transactions-more").hidden = !page.next_cursor;
  const shown = tbody.children.length;
  setText("#transactions-count", `${shown} shown${page.next_cursor ? ", more available" : ""}`, shown);
}

async function refresh() {
  await Promise.all([renderSummary(), renderTimeline(), renderSpend(), renderRecurring(), renderTransactions(false)]);
}

function scheduleRefresh(delay = 150) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => refresh().catch(showError), delay);
}

// Twin events the Unified 360 view reflects (the others leave it as it was).
const VIEW_EVENTS = ["core.profile.created", "core.account.linked", "core.manual_asset.valued",
  "core.transactions.imported", "core.transaction.corrected", "core.transaction.amended",
  "core.transaction.categorised"];

function showError(error) {
  setText("#simulate-status", String(error.message || error));
}

function feedItem(envelope, id) {
  const li = document.createElement("li");
  li.dataset.type = envelope.type;
  li.dataset.id = id;
  const code = document.createElement("code");
  code.textContent = envelope.type;
  li.append(code, ` · ${new Date(envelope.created_at).toLocaleTimeString("en-GB")} · #${id}`);
  const feed = $("#feed");
  feed.prepend(li);
  while (feed.children.length > 100) feed.lastChild.remove();
}

function connectFeed() {
  const source = new EventSource(`/v1/profile/${state.profile}/events?tenant_id=${encodeURIComponent(state.tenant)}`);
  source.onopen = () => setText("#feed-state", "live");
  source.onmessage = (message) => {
    const envelope = JSON.parse(message.data);
    feedItem(envelope, message.lastEventId);
    if (VIEW_EVENTS.includes(envelope.type)) {
      state.lastTwinEvent = Math.max(state.lastTwinEvent, Number(message.lastEventId));
    }
    scheduleRefresh();
  };
  // The server ends a stream it cannot keep up with; EventSource reconnects with Last-Event-ID.
  source.addEventListener("close", (message) => setText("#feed-state", `reconnecting (${JSON.parse(message.data).reason})`));
  source.onerror = () => setText("#feed-state", "reconnecting…");
}

async function simulate() {
  const button = $("#simulate");
  button.disabled = true;
  setText("#simulate-status", "importing…");
  try {
    const response = await fetch("/demo/simulate", {
      method: "POST",
      headers: { "x-requested-with": "fintra-dashboard" },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    setText("#simulate-status", `imported ${body.month}: ${body.new_transactions} transactions`);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

async function main() {
  const config = await fetch("/demo/config").then((r) => r.json());
  state.profile = config.profile_id;
  state.tenant = config.tenant;
  setText("#profile-id", config.profile_id);
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.filters = {
      category_l1: $("#filter-category").value,
      merchant: $("#filter-merchant").value.trim(),
      from: $("#filter-from").value,
      to: $("#filter-to").value,
    };
    renderTransactions(false).catch(showError);
  });
  $("#transactions-more").addEventListener("click", () => renderTransactions(true).catch(showError));
  $("#simulate").addEventListener("click", simulate);
  await refresh();
  connectFeed();
  document.body.dataset.ready = "true";
  document.body.dataset.readyAt = String(Math.round(performance.now()));
}

main().catch(showError);
