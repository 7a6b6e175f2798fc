// The agent desk: the queue on the left, the open conversation on the right, both kept
// up to date by the desk's events (no reloads, no polling).
//
// State lives here; queue.js, conversation.js and composer.js draw it. Every fetch that
// answers late (the agent already opened another conversation) is dropped.
"use strict";

import { api, ApiError, conversationPath, follow, post } from "./api.js";
import { clearComposer, renderSuggestions, setUpComposer, setWritable } from "./composer.js";
import {
  clearTranscript,
  ownership,
  renderAgents,
  renderContext,
  renderHeader,
  setUpTranscript,
  syncTranscript,
} from "./conversation.js";
import { announce, byId, feedback, setTexts, show, t, tick } from "./dom.js";
import { markOpen, renderQueue } from "./queue.js";

const page = document.body.dataset;
const me = { id: page.agentId, name: page.agentName, role: page.agentRole };
const state = {
  queue: [],
  waitingIds: null, // ids seen waiting, to announce newcomers
  open: null, // the open conversation's JSON
  openId: null,
  lastSeq: 0,
  generation: 0, // bumped whenever another conversation opens
  stopEvents: null,
  suggestedFor: null, // seq of the customer message the suggestions answer
};

// -- the queue ----------------------------------------------------------------------------

let queueLoading = null;
let queueAgain = false;

/** Re-read the queue; events arriving meanwhile lead to one more read, not one each. */
async function refreshQueue() {
  if (queueLoading) {
    queueAgain = true;
    return queueLoading;
  }
  queueLoading = (async () => {
    do {
      queueAgain = false;
      try {
        const fetchedAt = Date.now();
        const body = await api("/queue");
        state.queue = body.conversations || [];
        renderQueue(state.queue, state.openId, fetchedAt);
        announceNewcomers();
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) console.warn("queue:", error.message);
      }
    } while (queueAgain);
  })();
  try {
    await queueLoading;
  } finally {
    queueLoading = null;
  }
}

/** Tell newcomers to screen readers, and the waiting count to a desk in a background tab. */
function announceNewcomers() {
  const waiting = state.queue.filter((c) => c.status === "queued").map((c) => c.id);
  document.title = waiting.length ? `(${waiting.length}) ${t("app_title")}` : t("app_title");
  if (state.waitingIds !== null && waiting.some((id) => !state.waitingIds.has(id))) {
    announce(`${t("queue_new_announce")}. ${t("queue_announce", { count: waiting.length })}`);
  }
  state.waitingIds = new Set(waiting);
}

// -- the open conversation -------------------------------------------------------------

function showPane(which) {
  show(byId("conversation-empty"), which === "empty");
  show(byId("conversation-loading"), which === "loading");
  show(byId("conversation-missing"), which === "missing");
  show(byId("conversation-view"), which === "view");
}

function render(conversation) {
  const before = state.open && state.open.id === conversation.id ? ownership(state.open, me) : null;
  state.open = conversation;
  state.lastSeq = Math.max(0, ...(conversation.messages || []).map((m) => m.seq));
  renderHeader(conversation, me);
  renderContext(conversation);
  syncTranscript(conversation, me);
  const owner = ownership(conversation, me);
  setWritable(owner === "mine" || owner === "queued");
  if (owner === "mine" && before !== "mine") loadAgents(); // for "transfer to"
}

async function openConversation(id, { focus = false } = {}) {
  state.generation += 1;
  const generation = state.generation;
  state.openId = id;
  state.open = null;
  state.suggestedFor = null;
  markOpen(id);
  followEvents(id);
  clearTranscript();
  clearComposer();
  feedback(byId("action-feedback"), "");
  if (!id) return showPane("empty");
  showPane("loading");
  try {
    const conversation = await api(conversationPath(id));
    if (generation !== state.generation) return undefined;
    showPane("view");
    render(conversation);
    if (focus) byId("conversation-heading").focus();
    suggestForNewMessage();
  } catch (error) {
    if (generation !== state.generation) return undefined;
    const missing = error instanceof ApiError && error.status === 404;
    byId("conversation-missing").textContent = missing ? t("not_found") : error.message;
    showPane("missing");
  }
  return undefined;
}

/** Everything again (after a claim, a transfer, a note, a reconnect). */
async function reloadConversation() {
  if (!state.openId) return;
  const generation = state.generation;
  try {
    const conversation = await api(conversationPath(state.openId));
    if (generation !== state.generation) return;
    render(conversation);
    suggestForNewMessage(); // a customer message may have come with the re-read
  } catch (error) {
    if (generation === state.generation && error instanceof ApiError && error.status === 404) showPane("missing");
  }
}

let messagesLoading = null;
let messagesAgain = false;

/** New messages of the open conversation; anything else that changed means a full re-read. */
async function refreshMessages() {
  if (messagesLoading) {
    messagesAgain = true;
    return messagesLoading;
  }
  messagesLoading = (async () => {
    do {
      messagesAgain = false;
      await readNewMessages();
    } while (messagesAgain);
  })();
  try {
    await messagesLoading;
  } finally {
    messagesLoading = null;
  }
  return undefined;
}

async function readNewMessages() {
  if (!state.open) return;
  const generation = state.generation;
  let body;
  try {
    body = await api(conversationPath(state.openId, `/messages?after=${state.lastSeq}`));
  } catch {
    return;
  }
  if (generation !== state.generation || !state.open) return;
  const fresh = (body.messages || []).filter((m) => m.seq > state.lastSeq);
  if (!fresh.length || body.status !== state.open.status) {
    await reloadConversation(); // a claim, transfer, note or status change
    return;
  } else {
    state.open.messages = [...state.open.messages, ...fresh];
    state.lastSeq = Math.max(state.lastSeq, ...fresh.map((m) => m.seq));
    syncTranscript(state.open, me);
  }
  suggestForNewMessage(); // the transcript (a live region) says it
}

/** Suggestions follow the customer's latest message, however it reached the page. */
function suggestForNewMessage() {
  const customer = (state.open?.messages || []).filter((m) => m.role === "customer");
  const latest = customer.length ? customer[customer.length - 1].seq : 0;
  if (latest === state.suggestedFor) return;
  state.suggestedFor = latest;
  loadSuggestions();
}

async function loadSuggestions() {
  const id = state.openId;
  if (!id) return;
  try {
    const body = await api(conversationPath(id, "/suggestions"));
    if (id === state.openId) renderSuggestions(body.suggestions || []);
  } catch {
    if (id === state.openId) renderSuggestions([]);
  }
}

async function loadAgents() {
  try {
    const body = await api("/agents");
    renderAgents(body.agents || [], me);
  } catch {
    // the select keeps what it had
  }
}

// -- actions ---------------------------------------------------------------------------

/** A failed change: a 409 means someone else got there first, so show where it stands. */
async function explainFailure(error, where) {
  if (error instanceof ApiError && error.status === 409) {
    await reloadConversation();
    const taken = state.open && ownership(state.open, me) === "other";
    const message = taken ? t("conflict_taken", { name: state.open.assigned_to }) : t("conflict_changed");
    feedback(where, message, "error");
  } else if (error instanceof ApiError) {
    feedback(where, error.status ? t("error_request", { detail: error.message }) : error.message, "error");
  } else {
    feedback(where, t("error_generic"), "error");
  }
}

async function act(action, body, done) {
  const where = byId("action-feedback");
  const id = state.openId;
  if (!id) return;
  feedback(where, "");
  try {
    const conversation = await post(conversationPath(id, `/${action}`), body);
    if (id !== state.openId) return;
    render(conversation);
    feedback(where, done(conversation));
    refreshQueue();
  } catch (error) {
    await explainFailure(error, where);
  }
}

function setUpActions() {
  byId("claim").addEventListener("click", async () => {
    await act("claim", undefined, () => t("claimed_ok"));
    byId("composer-text").focus();
  });
  byId("release").addEventListener("click", () => act("release", undefined, () => t("released_ok")));
  byId("resolve").addEventListener("click", () => act("resolve", undefined, () => t("resolved_ok")));
  byId("transfer").addEventListener("click", () => {
    const select = byId("transfer-select");
    if (!select.value) return select.focus();
    const name = select.selectedOptions[0].dataset.name;
    return act("transfer", { agent_id: Number(select.value) }, () => t("transferred_ok", { name }));
  });
}

function setUpWriting() {
  setUpComposer({
    current: () => state.open,
    sent: async (kind, body) => {
      if (kind === "note" || !body || !body.message || state.open.status !== "assigned") {
        await reloadConversation();
        refreshQueue();
      } else {
        await refreshMessages();
      }
    },
    failed: (error, where) => explainFailure(error, where),
  });
}

// -- live events, navigation, language -----------------------------------------------------

function setConnection(connected) {
  const node = byId("connection");
  node.dataset.state = connected ? "live" : "reconnecting";
  node.textContent = t(connected ? "live_connected" : "live_reconnecting");
}

function followEvents(conversationId) {
  if (state.stopEvents) state.stopEvents();
  let connectedBefore = false;
  state.stopEvents = follow(conversationId, {
    connected: () => {
      setConnection(true);
      // What happened before this stream was listening (the first time: while the page
      // loaded; later: while the connection was down) came with no event: read it now.
      refreshQueue();
      if (connectedBefore || state.open) refreshMessages();
      connectedBefore = true;
    },
    disconnected: () => setConnection(false),
    queue: () => refreshQueue(),
    messages: (event) => {
      if (event.conversation && event.conversation === state.openId) refreshMessages();
    },
    notes: (event) => {
      if (event.conversation && event.conversation === state.openId) reloadConversation();
    },
  });
}

function conversationIdFromPath() {
  const match = window.location.pathname.match(/^\/desk\/c\/([^/]+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

function setUpNavigation() {
  byId("queue").addEventListener("click", (event) => {
    const link = event.target.closest(".queue-link");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (link.dataset.id === state.openId) return byId("conversation-heading").focus();
    window.history.pushState({}, "", link.getAttribute("href"));
    return openConversation(link.dataset.id, { focus: true });
  });
  window.addEventListener("popstate", () => openConversation(conversationIdFromPath()));
}

function setUpLanguage() {
  byId("language-select").addEventListener("change", async (event) => {
    try {
      await post("/me", { language: event.target.value });
      window.location.reload();
    } catch (error) {
      feedback(byId("action-feedback"), error.message, "error");
    }
  });
}

function start() {
  setTexts(JSON.parse(page.texts || "{}"), page.language || "pl");
  setUpNavigation();
  setUpTranscript();
  setUpActions();
  setUpWriting();
  setUpLanguage();
  window.setInterval(tick, 1000);
  refreshQueue();
  openConversation(page.conversation || null);
}

start();
