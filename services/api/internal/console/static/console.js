// The SIM modem console. Plain DOM, no framework, no build step. Every text
// that comes from the network is put into the page with textContent (no
// HTML parsing sink anywhere), and the api key lives in sessionStorage and is sent as a
// bearer header only.
"use strict";

const KEY = "sma-key";
const $ = (id) => document.getElementById(id);

// el builds an element; children are nodes or strings (as text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  return isNaN(d) ? String(s) : d.toLocaleString();
}

// ---- the api

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || "HTTP " + status);
    this.status = status;
    this.body = body || {};
  }
}

// modems: GET /v1/modems (empty until read, or from an api without it);
// modem: the selected modem's id (null: the default one).
const state = { key: null, role: null, page: "status", stream: null, timers: [], modems: [], modem: null, poll: null };

async function api(method, path, body, headers) {
  const h = Object.assign({ Authorization: "Bearer " + state.key }, headers || {});
  if (body !== undefined) h["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (r.status === 401 && state.key) signOut("The api key was refused (401). Sign in again.");
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

// ---- the event stream: fetch + a stream reader (EventSource cannot send
// an Authorization header), parsed as text/event-stream, resumed with
// Last-Event-ID after a reconnect.

// SSEParser parses text/event-stream as the HTML standard says, from
// chunks split anywhere (also between CR and LF): push returns the events
// the chunk completed, {id, type, data}; id is null when the event set
// none (the last one stays in force), data null for an event without
// data lines (it only moves the id). retry is the last retry: field.
class SSEParser {
  constructor() {
    this.buf = "";
    this.retry = null;
    this.reset();
  }
  reset() {
    this.id = null;
    this.type = "";
    this.data = null;
  }
  push(chunk) {
    this.buf += chunk;
    const out = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A CR at the very end may be the first half of CRLF: wait.
      if (m[0] === "\r" && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, out);
    }
    return out;
  }
  line(line, out) {
    if (line === "") {
      if (this.data !== null || this.id !== null) {
        out.push({ id: this.id, type: this.type || "message", data: this.data });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    let val = i < 0 ? "" : line.slice(i + 1);
    if (val.startsWith(" ")) val = val.slice(1);
    if (field === "data") this.data = this.data === null ? val : this.data + "\n" + val;
    else if (field === "event") this.type = val;
    else if (field === "id" && !val.includes("\0")) this.id = val;
    else if (field === "retry" && /^\d+$/.test(val)) this.retry = Number(val);
  }
}

class EventStream {
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = null;
    this.retry = 2000;
    this.ctrl = null;
    this.stopped = false;
    this.connectedOnce = null;
  }
  start() {
    this.connected = new Promise((resolve) => { this.connectedOnce = resolve; });
    this.loop();
    return this.connected;
  }
  stop() {
    this.stopped = true;
    if (this.ctrl) this.ctrl.abort();
  }
  async loop() {
    while (!this.stopped) {
      try {
        await this.once();
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof APIError && e.status === 401) { signOut("The api key was refused (401)."); return; }
      }
      if (this.stopped) return;
      this.onState(false);
      await new Promise((r) => setTimeout(r, this.retry));
    }
  }
  async once() {
    this.ctrl = new AbortController();
    const headers = { Authorization: "Bearer " + state.key, Accept: "text/event-stream" };
    if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
    const r = await fetch("/v1/events", { headers, signal: this.ctrl.signal, cache: "no-store" });
    if (!r.ok) throw new APIError(r.status, null);
    this.onState(true);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SSEParser();
    let first = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (first) { first = false; this.connectedOnce(); }
      for (const ev of parser.push(value)) {
        if (ev.id !== null) this.lastId = ev.id;
        if (ev.data !== null) this.dispatch(ev.type, ev.data);
      }
      if (parser.retry !== null) this.retry = parser.retry;
    }
  }
  dispatch(type, data) {
    let body;
    try { body = JSON.parse(data); } catch { return; }
    try { this.onEvent(type, body); } catch (e) { console.error("event handler", type, e); }
  }
}

// later runs fn once after ms, however often it is asked for meanwhile.
function later(fn, ms) {
  let t = null;
  const f = () => {
    if (t) return;
    t = setTimeout(() => { t = null; fn(); }, ms);
  };
  state.timers.push(() => { clearTimeout(t); t = null; });
  return f;
}

// ---- sign-in

async function signIn(key) {
  state.key = key;
  let who;
  try {
    who = await api("GET", "/v1/whoami");
  } catch (e) {
    state.key = null;
    throw e;
  }
  sessionStorage.setItem(KEY, key);
  state.role = who.role;
  $("role").textContent = who.role;
  document.querySelectorAll(".admin-only").forEach((n) => { n.hidden = who.role !== "admin"; });
  $("nav").hidden = false;
  $("session").hidden = false;
  let down = false;
  state.stream = new EventStream(onEvent, (on) => {
    $("live").textContent = on ? "live" : "reconnecting…";
    $("live").classList.toggle("on", on);
    // Back after a break (perhaps a restarted api): the modems anew.
    if (on && down) loadModems();
    down = !on;
  });
  // Load the pages once the stream is open: no event between the two is lost.
  const ready = state.stream.start();
  await Promise.race([ready, new Promise((r) => setTimeout(r, 3000))]);
  if (!(await loadModems())) refreshStatus();
  state.poll = setInterval(pollSelected, selectedEvery);
  loadInbox();
  loadOutbox();
  show(location.hash.slice(1) || "status");
}

function signOut(msg) {
  sessionStorage.removeItem(KEY);
  state.key = null;
  state.role = null;
  if (state.stream) state.stream.stop();
  state.stream = null;
  state.timers.forEach((c) => c());
  clearInterval(state.poll);
  state.poll = null;
  state.modems = [];
  state.modem = null;
  pickerDrawn = "";
  statuses.clear();
  signals.clear();
  renderModems();
  $("nav").hidden = true;
  $("session").hidden = true;
  $("signin-error").textContent = msg || "";
  show("signin");
}

$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const key = $("key").value.trim();
  $("signin-error").textContent = "";
  try {
    await signIn(key);
    $("key").value = "";
  } catch (err) {
    $("signin-error").textContent = err.status === 401 ? "Refused: unknown api key." : "Sign-in failed: " + err.message;
  }
});
$("signout").addEventListener("click", () => signOut(""));

// ---- pages

const pages = ["signin", "status", "inbox", "outbox", "send", "ussd", "pin", "at"];

function show(page) {
  if (!state.key) page = "signin";
  if (!pages.includes(page) || ((page === "at" || page === "pin") && state.role !== "admin")) page = "status";
  state.page = page;
  for (const p of pages) $("page-" + p).hidden = p !== page;
  document.querySelectorAll("nav button").forEach((b) => {
    if (b.dataset.page === page) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  if (page !== "signin" && location.hash !== "#" + page) history.replaceState(null, "", "#" + page);
  if (page === "inbox") renderThread();
  if (page === "status") refreshSelected();
}

document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.page)));
window.addEventListener("hashchange", () => show(location.hash.slice(1)));

// ---- events

function onEvent(type, ev) {
  if (type === "sms.received") loadInboxSoon();
  else if (type.startsWith("message.")) outboxEvent(ev.data && ev.data.message && ev.data.message.id);
  else if (type === "modem.status") { if (ev.data) gotStatus(null, ev.data); }
  else if (type.startsWith("modem.")) modemEvent(ev.data && ev.data.modem && ev.data.modem.id);
  // the default modem's stored modem.* events are followed by a fresh
  // modem.status; another modem's status is read when one names it
}

// ---- modems

// With several modems the status page has a picker; the selected modem is
// the one the status, USSD, PIN and AT pages show and act on. The default
// modem's status follows the stream's live modem.status; another modem's
// is read when it is selected, when a modem.* event names it, and every
// selectedEvery while its status is on screen.
const selectedEvery = 10000;
const statuses = new Map(); // slot → the last status read
const signals = new Map(); // slot → [{t, dbm}] since the page opened

const many = () => state.modems.length > 1;
const defaultId = () => (state.modems.find((m) => m.default) || {}).id || null;
// slot is where a modem's status is kept: "" for the default modem (its
// id may not be known yet when the live status arrives), else its id.
const slot = (id) => (!id || id === defaultId() ? "" : id);
const selectedId = () => state.modem || defaultId();

// modemPath is the path of an operation (status, ussd, sim/pin, at) on the
// selected modem: under /v1/modems/{id}/ once the modems are known.
function modemPath(op) {
  const id = selectedId();
  if (id) return "/v1/modems/" + encodeURIComponent(id) + "/" + op;
  return op === "status" ? "/v1/modem/status" : "/v1/" + op;
}

// loadModems reads GET /v1/modems; false if it could not.
async function loadModems() {
  let r;
  try {
    r = await api("GET", "/v1/modems");
  } catch {
    return false;
  }
  state.modems = r.modems || [];
  if (!state.modems.some((m) => m.id === state.modem)) state.modem = null;
  for (const m of state.modems) if (m.status) gotStatus(m.id, m.status);
  renderModems();
  showSelected();
  return true;
}
const loadModemsSoon = later(loadModems, 300);

function modemEvent(id) {
  if (!many()) return;
  loadModemsSoon(); // readiness and eligibility changed: the list reads every status too
}

// gotStatus keeps a modem's status (id null: the default's live one) and
// shows it if that modem is selected. An older snapshot than the one kept
// (a listing that crossed a live event) is dropped.
function gotStatus(id, s) {
  const k = slot(id);
  const prev = statuses.get(k);
  if (prev && prev.updatedAt && s.updatedAt && Date.parse(s.updatedAt) < Date.parse(prev.updatedAt)) return;
  statuses.set(k, s);
  sample(k, s);
  if (k === slot(state.modem)) renderStatus(s);
  if (many()) renderModems();
}

// refreshSelected reads the selected modem's status, unless it is the
// default one (live) or its status is not on screen.
async function refreshSelected() {
  const id = state.modem;
  if (!state.key || state.page !== "status" || slot(id) === "") return;
  let s;
  try {
    s = await api("GET", modemPath("status"));
  } catch (e) {
    if (id === state.modem) setBanner("Status of " + id + " unavailable: " + e.message, false);
    return;
  }
  gotStatus(id, s);
}

function pollSelected() {
  if (document.visibilityState === "visible") refreshSelected();
}
document.addEventListener("visibilitychange", pollSelected);

function selectModem(id) {
  state.modem = id === defaultId() ? null : id;
  showSelected();
  refreshSelected();
}

// showSelected shows the selected modem's status and names it on the
// pages that act on it.
function showSelected() {
  const id = selectedId();
  $("status-of").textContent = many() ? ": " + id : "";
  document.querySelectorAll(".target").forEach((p) => { p.hidden = !many(); });
  document.querySelectorAll(".target-id").forEach((n) => { n.textContent = id || ""; });
  const s = statuses.get(slot(state.modem));
  if (s) renderStatus(s);
  else if (many()) { setBanner("Reading the status of " + id + "…", false); drawChart(); }
  document.querySelectorAll("#modem-list input").forEach((r) => { r.checked = r.value === id; });
}

// renderModems draws the picker (and the send form's modem choice) when
// there are several modems; only when what it shows changed, so that the
// live status does not redraw it at every poll (and the focus stays).
let pickerDrawn = "";
function renderModems() {
  const multi = many();
  $("modem-picker").hidden = !multi;
  $("send-modem-field").hidden = !multi;
  const rows = (multi ? state.modems : []).map((m) => {
    const s = (slot(m.id) === "" && statuses.get("")) || m.status || {};
    return {
      id: m.id, def: !!m.default, eligible: !!m.eligible, operator: (s.status || {}).operator || "",
      what: m.eligible ? "sending" : !s.reachable ? "not reachable" : m.ready ? "ready, not sending" : "not ready",
      why: m.eligible ? "" : m.notEligible || (s.notReady || []).join("; ") || s.reason || "",
    };
  });
  const key = JSON.stringify(rows);
  if (key === pickerDrawn) return;
  pickerDrawn = key;
  const list = $("modem-list");
  const focused = list.contains(document.activeElement) ? document.activeElement.value : null;
  const id = selectedId();
  list.replaceChildren();
  const sel = $("send-modem");
  const chosen = sel.value;
  sel.replaceChildren(el("option", { value: "" }, "any (routing)"));
  for (const r of rows) {
    const radio = el("input", { type: "radio", name: "modem", value: r.id, checked: r.id === id, onchange: () => selectModem(r.id) });
    list.append(el("label", { class: "modem-opt", "data-id": r.id, "data-eligible": String(r.eligible) },
      radio,
      el("span", { class: "modem-id" }, r.id),
      r.def ? el("span", { class: "chip" }, "default") : null,
      el("span", { class: "chip " + (r.eligible ? "state-sent" : "state-failed") }, r.what),
      r.operator ? el("span", { class: "muted small" }, r.operator) : null,
      r.why ? el("span", { class: "muted small why" }, r.why) : null));
    if (r.id === focused) radio.focus();
    sel.append(el("option", { value: r.id }, r.id + (r.eligible ? "" : " (not sending now)")));
  }
  sel.value = rows.some((r) => r.id === chosen) ? chosen : "";
}

// ---- status

const maxSamples = 180;

async function refreshStatus() {
  let s;
  try {
    s = await api("GET", "/v1/modem/status");
  } catch (e) {
    setBanner("Status unavailable: " + e.message, false);
    return;
  }
  gotStatus(null, s);
}

function setBanner(text, ok) {
  const b = $("status-banner");
  b.textContent = text;
  b.className = "banner " + (ok ? "ok" : "bad");
}

function dl(id, rows) {
  const d = $(id);
  d.replaceChildren();
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    d.append(el("dt", null, k), el("dd", null, v));
  }
}

function renderStatus(s) {
  const st = s.status || {};
  const id = s.identity || {};
  if (!s.reachable) setBanner("Modem not reachable: " + (s.reason || "unknown reason"), false);
  else if (!s.ready) setBanner("Not ready: " + (s.notReady || []).join("; "), false);
  else setBanner("Ready: messages are being sent and received." + ((st.warnings || []).length ? " Warnings: " + st.warnings.join("; ") : ""), !(st.warnings || []).length);
  const sig = st.signal || {};
  const known = typeof sig.rssiDbm === "number" && s.reachable;
  $("sig-bars").textContent = known ? "▮".repeat(sig.bars || 0) + "▯".repeat(4 - (sig.bars || 0)) : "";
  $("sig-dbm").textContent = known ? sig.rssiDbm + " dBm" : "unknown";
  drawChart();
  dl("st-network", [
    ["Registration", st.registration],
    ["Operator", st.operator],
    ["Access", st.accessTechnology],
    ["CSQ", typeof sig.csq === "number" ? sig.csq + (typeof sig.ber === "number" ? " (BER class " + sig.ber + ")" : "") : ""],
  ]);
  const sto = st.storage || {};
  dl("st-sim", [
    ["SIM", st.sim],
    ["Radio", st.radio],
    ["SMS store", sto.memory ? sto.memory + " " + sto.used + " / " + sto.total : ""],
    ["Updated", fmtTime(s.updatedAt)],
  ]);
  const relay = s.relay || {};
  dl("st-relay", [
    ["Session", relay.ready ? "ready" : "down"],
    ["Reason", relay.reason],
    ["Api ready", s.ready ? "yes" : "no"],
  ]);
  dl("st-identity", [
    ["Manufacturer", id.manufacturer],
    ["Model", id.model],
    ["Firmware", id.firmware],
    ["IMEI", id.imei],
    ["IMSI", id.imsi],
    ["ICCID", id.iccid],
    ["Number", id.subscriberNumber],
  ]);
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// sample keeps the signal of a status in its modem's history.
function sample(k, s) {
  const sig = (s.status || {}).signal || {};
  if (typeof sig.rssiDbm !== "number" || !s.reachable) return;
  if (!signals.has(k)) signals.set(k, []);
  const signal = signals.get(k);
  const t = s.updatedAt ? Date.parse(s.updatedAt) : Date.now();
  if (!signal.length || signal[signal.length - 1].t < t) {
    signal.push({ t, dbm: sig.rssiDbm });
    if (signal.length > maxSamples) signal.shift();
  }
}

// drawChart draws the selected modem's signal samples: -113 dBm (CSQ 0)
// to -51 dBm (CSQ 31).
function drawChart() {
  const signal = signals.get(slot(state.modem)) || [];
  const c = $("sig-chart");
  const W = 300, H = 90, L = 28, lo = -113, hi = -51;
  const y = (dbm) => (H - 4) - ((Math.max(lo, Math.min(hi, dbm)) - lo) / (hi - lo)) * (H - 8);
  const kids = [
    svg("line", { class: "axis", x1: L, y1: y(hi), x2: W, y2: y(hi) }),
    svg("line", { class: "axis", x1: L, y1: y(-83), x2: W, y2: y(-83) }),
    svg("line", { class: "axis", x1: L, y1: y(lo), x2: W, y2: y(lo) }),
    svg("text", { x: 0, y: y(hi) + 3 }, "-51"),
    svg("text", { x: 0, y: y(-83) + 3 }, "-83"),
    svg("text", { x: 0, y: y(lo) }, "-113"),
  ];
  if (signal.length) {
    const t0 = signal[0].t, t1 = signal[signal.length - 1].t;
    const x = (t) => (t1 === t0 ? W - 3 : L + 3 + ((t - t0) / (t1 - t0)) * (W - L - 6));
    const pts = signal.map((s) => x(s.t).toFixed(1) + "," + y(s.dbm).toFixed(1)).join(" ");
    kids.push(svg("polyline", { class: "line", points: pts }));
    const last = signal[signal.length - 1];
    kids.push(svg("circle", { class: "dot", cx: x(last.t), cy: y(last.dbm), r: 3 }));
  }
  c.replaceChildren(...kids);
  $("sig-caption").textContent = signal.length + " sample" + (signal.length === 1 ? "" : "s") + " since this page opened";
}

// The signal's history comes from the stream's live modem.status events:
// the api sends the status when the stream opens and on every refresh of
// its snapshot (every poll of the modem), so the page never polls.

// ---- inbox

let inbox = [];
let selected = null;

async function loadInbox() {
  try {
    const r = await api("GET", "/v1/inbox?limit=200");
    inbox = r.messages || [];
  } catch (e) {
    $("conversations").replaceChildren(el("li", { class: "error" }, "Inbox unavailable: " + e.message));
    return;
  }
  renderInbox();
}
const loadInboxSoon = later(loadInbox, 150);

function conversations() {
  const by = new Map();
  for (const m of inbox) { // newest first
    if (!by.has(m.from)) by.set(m.from, []);
    by.get(m.from).push(m);
  }
  return by;
}

function smsText(m) {
  if (m.text !== undefined && m.text !== "") return m.text;
  if (m.dataHex) return "(8-bit data) " + m.dataHex;
  return m.state === "undecodable" ? "(undecodable: " + (m.reason || "kept raw") + ")" : "";
}

function renderInbox() {
  const by = conversations();
  const unread = inbox.filter((m) => !m.read).length;
  $("unread").textContent = String(unread);
  $("unread").hidden = unread === 0;
  const list = $("conversations");
  list.replaceChildren();
  if (!by.size) list.append(el("li", { class: "muted conv" }, "No messages yet."));
  for (const [from, msgs] of by) {
    const n = msgs.filter((m) => !m.read).length;
    const b = el("button", { type: "button", class: "conv" + (n ? " unread" : ""), "aria-current": from === selected ? "true" : false, "data-from": from },
      el("span", { class: "who" }, el("span", null, from), n ? el("span", { class: "badge", title: n + " unread" }, String(n)) : null),
      el("span", { class: "last" }, smsText(msgs[0])));
    b.addEventListener("click", () => { selected = from; renderInbox(); openThread(from); });
    list.append(el("li", null, b));
  }
  renderThread();
}

function renderThread() {
  const t = $("thread");
  const msgs = conversations().get(selected);
  if (!selected || !msgs) {
    t.replaceChildren(el("p", { class: "muted" }, inbox.length ? "Choose a conversation." : ""));
    return;
  }
  t.replaceChildren(el("h3", null, selected));
  for (const m of msgs.slice().reverse()) {
    const meta = el("p", { class: "meta" },
      el("time", { datetime: m.receivedAt }, fmtTime(m.scTime || m.receivedAt)),
      m.partCount > 1 ? el("span", { class: "chip" }, m.partCount + " parts") : null,
      m.class0 ? el("span", { class: "chip" }, "flash") : null,
      many() && m.modem ? el("span", { class: "chip modem", title: "received by modem " + m.modem }, "modem " + m.modem) : null,
      !m.read ? el("span", { class: "chip state-sending" }, "unread") : null,
      m.incomplete ? el("span", { class: "chip state-incomplete" }, "incomplete: part" + ((m.missingParts || []).length > 1 ? "s " : " ") + (m.missingParts || []).join(", ") + " missing") : null,
      m.state === "undecodable" ? el("span", { class: "chip state-undecodable" }, "undecodable") : null,
      el("button", { type: "button", class: "secondary", onclick: () => deleteInbox(m.id) }, "Delete"));
    t.append(el("article", { class: "sms" + (m.read ? "" : " unread"), "data-id": m.id }, el("p", { class: "text" }, smsText(m)), meta));
  }
}

// openThread marks the conversation's unread messages read (GET of one
// message marks it read).
async function openThread(from) {
  const unread = (conversations().get(from) || []).filter((m) => !m.read);
  for (const m of unread) {
    try { await api("GET", "/v1/inbox/" + encodeURIComponent(m.id)); m.read = true; } catch { /* shown as unread still */ }
  }
  if (unread.length) renderInbox();
}

async function deleteInbox(id) {
  if (!confirm("Delete this message?")) return;
  try {
    await api("DELETE", "/v1/inbox/" + encodeURIComponent(id));
  } catch (e) {
    alert("Delete failed: " + e.message);
  }
  loadInbox();
}

// ---- sent messages

// The listing has no parts; the newest messages' parts come from
// GET /v1/messages/{id}, and every message.* event re-reads its message.
let outbox = [];
const detailed = 20;

async function loadOutbox() {
  let r;
  try {
    r = await api("GET", "/v1/messages?direction=out&limit=100");
  } catch (e) {
    $("outbox").replaceChildren(el("li", { class: "error" }, "Sent messages unavailable: " + e.message));
    return;
  }
  outbox = r.messages || [];
  renderOutbox();
  const full = await Promise.all(outbox.slice(0, detailed).map((m) =>
    api("GET", "/v1/messages/" + encodeURIComponent(m.id)).catch(() => null)));
  for (const m of full) if (m) mergeOutbox(m);
  renderOutbox();
}

function mergeOutbox(m) {
  const i = outbox.findIndex((x) => x.id === m.id);
  if (i >= 0) outbox[i] = m;
  else outbox.unshift(m);
}

async function outboxEvent(id) {
  if (!id) { loadOutbox(); return; }
  try {
    mergeOutbox(await api("GET", "/v1/messages/" + encodeURIComponent(id)));
  } catch { return; }
  renderOutbox();
}

function renderOutbox() {
  const list = $("outbox");
  list.replaceChildren();
  if (!outbox.length) list.append(el("li", { class: "muted" }, "Nothing sent yet."));
  for (const m of outbox) {
    const parts = el("p", { class: "meta" }, ...(m.parts || []).map((p) =>
      el("span", { class: "chip state-" + p.state, title: p.error || (p.status !== undefined ? "TP-ST " + p.status : "") },
        "part " + p.seq + ": " + p.state + (p.reference !== undefined ? " (MR " + p.reference + ")" : ""))));
    list.append(el("li", { "data-id": m.id, "data-state": m.state, "data-modem": m.modem || null },
      el("div", { class: "head" },
        el("span", null, el("strong", null, m.to),
          many() ? el("span", { class: "chip modem", title: sentBy(m) }, m.modem ? "modem " + m.modem : "any modem") : null),
        el("span", { class: "state state-" + m.state }, m.state)),
      el("p", { class: "text" }, m.text || m.dataHex || ""),
      m.reason ? el("p", { class: "error small" }, m.reason) : null,
      parts,
      el("p", { class: "meta muted small" }, fmtTime(m.createdAt),
        m.partCount > 1 ? " · " + m.partCount + " parts" : "",
        m.statusReport ? " · delivery reports" : "",
        m.state === "queued" ? el("button", { type: "button", class: "secondary", onclick: () => cancel(m.id) }, "Cancel") : null)));
  }
}

// sentBy says which modem sends a message and which modems it may go to.
function sentBy(m) {
  const route = (m.route || []).length ? "route: " + m.route.join(", ") : "any modem may send it";
  return (m.modem ? "modem " + m.modem + "; " : "") + route;
}

async function cancel(id) {
  try { await api("DELETE", "/v1/messages/" + encodeURIComponent(id)); } catch (e) { alert("Cancel failed: " + e.message); }
  loadOutbox();
}

// ---- send

let sendKey = newKey();
function newKey() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return "console-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const names = { gsm7: "GSM 7-bit", ucs2: "UCS-2" };
let previewSeq = 0;
async function preview() {
  const text = $("send-text").value;
  const seq = ++previewSeq;
  const p = $("send-preview");
  let r;
  try {
    r = await api("POST", "/v1/messages/preview", { text });
  } catch (e) {
    if (seq === previewSeq) { p.textContent = "Preview unavailable: " + e.message; p.className = "preview bad"; }
    return;
  }
  if (seq !== previewSeq) return;
  const unit = r.encoding === "gsm7" ? "characters" : "UTF-16 units";
  let s = (names[r.encoding] || r.encoding) + " · " + r.parts + " part" + (r.parts === 1 ? "" : "s") + " · " + r.unitsLeft + " " + unit + " left in this part";
  if (r.forcingUcs2 && r.forcingUcs2.length) s += " · UCS-2 because of " + r.forcingUcs2.join(" ");
  if (r.tooLong) s += " · too long: at most " + r.maxParts + " parts";
  p.textContent = s;
  p.className = "preview" + (r.tooLong ? " bad" : "");
  p.dataset.encoding = r.encoding;
  p.dataset.parts = String(r.parts);
}
const previewSoon = later(preview, 120);
$("send-text").addEventListener("input", () => { sendKey = newKey(); previewSoon(); });
$("send-to").addEventListener("input", () => { sendKey = newKey(); });
$("send-modem").addEventListener("change", () => { sendKey = newKey(); });

$("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("send-result");
  const btn = $("send-button");
  btn.disabled = true;
  out.className = "";
  out.textContent = "Sending…";
  try {
    // The idempotency key makes a repeated click or a retry after a lost
    // answer the same message: it is sent once.
    const body = {
      to: $("send-to").value, text: $("send-text").value,
      statusReport: $("send-report").checked, flash: $("send-flash").checked,
    };
    if (many() && $("send-modem").value) body.modem = $("send-modem").value; // pinned to it
    const m = await api("POST", "/v1/messages", body, { "Idempotency-Key": sendKey });
    out.textContent = "Accepted (" + m.partCount + " part" + (m.partCount === 1 ? "" : "s") + "): " + m.id;
    $("send-text").value = "";
    sendKey = newKey();
    preview();
    loadOutbox();
    show("outbox");
  } catch (err) {
    out.className = "error";
    const f = (err.body.fields || []).map((x) => x.field + ": " + x.message).join("; ");
    out.textContent = "Not sent: " + (f || err.message);
  } finally {
    btn.disabled = false;
  }
});

// ---- USSD, PIN and AT, on the selected modem

$("ussd").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("ussd-result");
  out.textContent = "Waiting for the network…";
  try {
    const r = await api("POST", modemPath("ussd"), { code: $("ussd-code").value.trim() });
    out.textContent = (r.text || "") + "\n\n(" + r.statusText + ")";
  } catch (err) {
    out.textContent = "Error: " + err.message;
  }
});

$("pin").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("pin-result");
  const body = { pin: $("pin-pin").value.trim() };
  if ($("pin-puk").value.trim()) body.puk = $("pin-puk").value.trim();
  out.className = "";
  out.textContent = "…";
  try {
    const r = await api("POST", modemPath("sim/pin"), body);
    out.textContent = "SIM: " + r.sim;
    $("pin-pin").value = "";
    $("pin-puk").value = "";
  } catch (err) {
    out.className = "error";
    const f = (err.body.fields || []).map((x) => x.field + ": " + x.message).join("; ");
    out.textContent = "Refused: " + (f || err.message);
  }
});

$("at").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("at-result");
  out.textContent = "…";
  let r;
  try {
    r = await api("POST", modemPath("at"), { command: $("at-command").value.trim() });
  } catch (err) {
    if (!err.body.transcript) { out.textContent = "Error: " + err.message; return; }
    r = err.body;
  }
  const lines = [];
  for (const x of r.transcript || []) {
    lines.push("> " + x.command, ...(x.response || []), x.final);
    if (x.restoredSettings) lines.push("(the api's settings were restored)");
  }
  out.textContent = lines.join("\n");
});

// ---- start

(async () => {
  const key = sessionStorage.getItem(KEY);
  if (!key) { show("signin"); return; }
  try { await signIn(key); } catch (e) { signOut(e.status === 401 ? "The stored api key was refused." : "Sign-in failed: " + e.message); }
})();
