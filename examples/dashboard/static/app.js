// The fintra dashboard demo: plain JavaScript over fintra-http's Views and Pulse feed.
// Every number is read from the Views' JSON and written with its minor units in `data-minor`,
// so a test (or a curious reader) can compare what is shown with what the server said.
"use strict";

const state = { profile: null, tenant: null, cursor: null, filters: {}, refreshTimer: null };
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

function chart(points, forecast) {
  const svg = $("#net-worth-chart");
  const [w, h, pad] = [900, 280, 50];
  const series = points.map((p) => ({ t: Date.parse(p.date), v: p.net_worth_minor }));
  const band = (forecast && forecast.days) || [];
  // The forecast is of the cash balance; it is drawn on its own scale, right of today.
  const times = series.map((p) => p.t).concat(band.map((d) => Date.parse(d.date)));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const x = (t) => pad + ((w - 2 * pad) * (t - t0)) / Math.max(1, t1 - t0);
  const scale = (values) => {
    const lo = Math.min(...values), hi = Math.max(...values, lo + 1);
    return (v) => h - pad - ((h - 2 * pad) * (v - lo)) / (hi - lo);
  };
  const y = scale(series.map((p) => p.v));
  const parts = [`<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#ccc"/>`];
  if (band.length) {
    const yf = scale(band.flatMap((d) => [d.p10_minor, d.p90_minor]));
    const upper = band.map((d) => `${x(Date.parse(d.date)).toFixed(1)},${yf(d.p90_minor).toFixed(1)}`);
    const lower = band.slice().reverse().map((d) => `${x(Date.parse(d.date)).toFixed(1)},${yf(d.p10_minor).toFixed(1)}`);
    parts.push(`<polygon points="${upper.concat(lower).join(" ")}" fill="#1f6feb22" stroke="none"/>`);
    const mid = band.map((d) => `${x(Date.parse(d.date)).toFixed(1)},${yf(d.p50_minor).toFixed(1)}`);
    parts.push(`<polyline points="${mid.join(" ")}" fill="none" stroke="#1f6feb" stroke-dasharray="4 3"/>`);
  }
  const line = series.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ");
  parts.push(`<polyline id="net-worth-line" points="${line}" fill="none" stroke="#1d2330" stroke-width="2"/>`);
  if (series.length) {
    const first = series[0], last = series[series.length - 1];
    parts.push(`<text x="${pad}" y="${h - pad + 18}" font-size="12">${points[0].date}</text>`);
    parts.push(`<text x="${x(last.t) - 40}" y="${y(last.v) - 8}" font-size="12">${money(last.v)}</text>`);
    parts.push(`<text x="4" y="${y(first.v) + 4}" font-size="11" fill="#667085">${money(first.v)}</text>`);
  }
  svg.innerHTML = parts.join("");
  svg.dataset.points = String(series.length);
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

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => refresh().catch(showError), 150);
}

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
    feedItem(JSON.parse(message.data), message.lastEventId);
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
    const response = await fetch("/demo/simulate", { method: "POST" });
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
