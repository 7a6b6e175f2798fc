// The desk's JSON API and its live events.
//
// Every request that changes something carries the CSRF token of the page (the
// `csrf-token` meta tag). A 401 means the session ended: back to the login page.
"use strict";

import { t } from "./dom.js";

const BASE = "/desk/api";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export function toLogin() {
  const next = window.location.pathname;
  window.location.assign(`/desk/login?next=${encodeURIComponent(next)}`);
}

/** A call to the desk's API: the parsed JSON, or an ApiError with the server's words. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, t("error_network"));
  }
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, t("error_session"));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : `${response.status}`;
    throw new ApiError(response.status, message);
  }
  return data;
}

export function post(path, body) {
  return api(path, { method: "POST", body: body === undefined ? {} : body });
}

export function conversationPath(id, rest = "") {
  return `/conversations/${encodeURIComponent(id)}${rest}`;
}

/**
 * Follow the desk's events: the queue's, and those of one conversation if `conversationId`.
 * EventSource reconnects by itself after a network error; a refused stream (e.g. the
 * session ended) closes it, so then the session is checked and the stream reopened.
 * Returns a function that stops following.
 */
export function follow(conversationId, handlers) {
  let source = null;
  let retry = null;
  let stopped = false;

  function open() {
    const query = conversationId ? `?conversation=${encodeURIComponent(conversationId)}` : "";
    source = new EventSource(`${BASE}/events${query}`);
    source.addEventListener("open", () => handlers.connected());
    source.addEventListener("error", () => {
      handlers.disconnected();
      if (source.readyState === EventSource.CLOSED && !stopped) {
        retry = window.setTimeout(reopen, 3000);
      }
    });
    source.addEventListener("queue", (event) => handlers.queue(parse(event.data)));
    source.addEventListener("messages", (event) => handlers.messages(parse(event.data)));
    source.addEventListener("notes", (event) => handlers.notes(parse(event.data)));
  }

  async function reopen() {
    try {
      await api("/me"); // a 401 goes to the login page
    } catch {
      // the server is away: try again later
    }
    if (!stopped) open();
  }

  open();
  return () => {
    stopped = true;
    window.clearTimeout(retry);
    if (source) source.close();
  };
}

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return {};
  }
}
