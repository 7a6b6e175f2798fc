// Building the page safely, the desk's texts, and times.
//
// Everything a customer, an agent or an editor wrote reaches the page through
// `textContent` (via `el`): never parsed as HTML, so it cannot run script.
"use strict";

let texts = {};
let language = "pl";

export function setTexts(table, lang) {
  texts = table;
  language = lang;
}

export function deskLanguage() {
  return language;
}

/** The text for `key` in the agent's language, with `{fields}` filled from `values`. */
export function t(key, values = {}) {
  const template = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** The text for `key` if the table has it, else `fallback` (e.g. an unknown reason). */
export function tOr(key, fallback, values = {}) {
  return Object.prototype.hasOwnProperty.call(texts, key) ? t(key, values) : fallback;
}

/**
 * A new element. `props`: `class`, `text` (set as textContent), `dataset`, `on<event>`
 * (listeners), anything else as an attribute. Children: nodes or strings (as text).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = String(value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

export function show(node, visible) {
  node.hidden = !visible;
}

/** Say something to screen readers (the announcer is an aria-live region). */
export function announce(message) {
  const region = byId("announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

const FEEDBACK_SHOWN_MS = 6000;

/**
 * A short feedback line under a form or the actions; `kind` is "ok" or "error". Good
 * news goes away by itself after a few seconds; an error stays until the next action.
 */
export function feedback(node, message, kind = "ok") {
  window.clearTimeout(Number(node.dataset.timer || 0));
  node.textContent = message || "";
  node.dataset.kind = kind;
  if (message && kind === "ok") {
    node.dataset.timer = String(window.setTimeout(() => feedback(node, ""), FEEDBACK_SHOWN_MS));
  }
}

// -- times ------------------------------------------------------------------------

/** How long, in words an agent reads at a glance: "45 s", "3 min", "2 godz. 5 min". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return t("time_seconds", { s });
  if (s < 3600) return t("time_minutes", { m: Math.floor(s / 60) });
  if (s < 86400) return t("time_hours", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  return d === 1 ? t("time_day", { h }) : t("time_days", { d, h });
}

/**
 * When the waiting started, in this browser's clock. The server's `waiting_seconds`
 * (measured when the list was read) makes it immune to a wrong clock on either side;
 * `queued_at` alone is the fallback.
 */
export function waitingSince(item, fetchedAt = Date.now()) {
  if (typeof item.waiting_seconds === "number") return fetchedAt - item.waiting_seconds * 1000;
  const parsed = Date.parse(item.queued_at || "");
  return Number.isNaN(parsed) ? null : parsed;
}

/** An element whose text is a waiting time that ticks (see `tick`). */
export function ticking(since, key, props = {}) {
  const node = el("span", { ...props, dataset: { since: String(since), template: key } });
  renderTick(node, Date.now());
  return node;
}

function renderTick(node, nowMs) {
  const since = Number(node.dataset.since);
  node.textContent = t(node.dataset.template, { time: duration((nowMs - since) / 1000) });
}

/** Move every ticking time on the page forward (called once a second). */
export function tick() {
  const nowMs = Date.now();
  for (const node of document.querySelectorAll("[data-since]")) renderTick(node, nowMs);
}

export function clockTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
}

export function dateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(language, { dateStyle: "medium", timeStyle: "short" });
}

export function percent(value) {
  return typeof value === "number" ? `${Math.round(value * 100)}%` : "?";
}

/** A retrieval score as agents read numbers: "0,82" in Polish, "0.82" in English. */
export function score(value) {
  if (typeof value !== "number") return "?";
  return value.toLocaleString(language, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
