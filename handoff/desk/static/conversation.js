// The conversation pane: the header (who has it, what can be done), the transcript with
// internal notes in their place, and what the bot knew (reason, what it understood and
// tried, the customer).
"use strict";

import { channelText, languageText, reasonText } from "./queue.js";
import { byId, clockTime, dateTime, el, percent, score, show, t, ticking, tOr, waitingSince } from "./dom.js";

/** Who the conversation belongs to, from the desk's point of view. */
export function ownership(conversation, me) {
  if (conversation.status === "assigned") {
    return conversation.assigned_to === me.name ? "mine" : "other";
  }
  return conversation.status; // "queued", "bot", "resolved"
}

// -- the header ----------------------------------------------------------------------

export function renderHeader(conversation, me) {
  byId("conversation-heading").textContent = t("conversation_title", {
    channel: channelText(conversation.channel),
    language: languageText(conversation.language),
  });
  const waiting = byId("conversation-waiting");
  const since = conversation.status === "queued" ? waitingSince(conversation.context || {}) : null;
  waiting.replaceChildren(since === null ? "" : ticking(since, "waiting_for"));

  const state = ownership(conversation, me);
  const status = byId("conversation-status");
  status.dataset.state = state;
  status.textContent = {
    mine: t("status_assigned_you"),
    other: t("status_assigned_other", { name: conversation.assigned_to || "?" }),
    queued: t("status_queued"),
    bot: t("status_bot"),
    resolved: t("status_resolved"),
  }[state] || "";

  renderTicket(conversation);
  show(byId("claim"), state === "queued");
  show(byId("release"), state === "mine");
  show(byId("transfer-group"), state === "mine");
  show(byId("resolve"), state === "mine" || state === "queued");
}

function renderTicket(conversation) {
  const banner = byId("ticket-banner");
  show(banner, Boolean(conversation.ticket));
  if (!conversation.ticket) return banner.replaceChildren();
  if (!conversation.contact_email) return banner.replaceChildren(t("ticket_no_email"));
  const mail = el("a", { href: `mailto:${conversation.contact_email}`, text: conversation.contact_email });
  return banner.replaceChildren(t("ticket_banner"), " ", mail);
}

/** The other agents, for "transfer to": those in the desk first. */
export function renderAgents(agents, me) {
  const others = agents.filter((a) => String(a.id) !== String(me.id));
  others.sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
  const select = byId("transfer-select");
  const chosen = select.value;
  const placeholder = el("option", { value: "", text: others.length ? t("transfer_choose") : t("transfer_none") });
  const options = others.map((a) =>
    el("option", {
      value: String(a.id),
      dataset: { name: a.name },
      text: t(a.online ? "agent_online" : "agent_offline", { name: a.name }),
    }),
  );
  select.replaceChildren(placeholder, ...options);
  if (others.some((a) => String(a.id) === chosen)) select.value = chosen;
}

// -- the transcript ----------------------------------------------------------------------

function author(message, me) {
  if (message.role === "customer") return t("author_customer");
  if (message.role === "bot") return t("author_bot");
  if (message.role === "agent") {
    if (message.author && message.author === me.name) return t("author_you");
    return message.author || t("author_agent");
  }
  return t("author_system");
}

function messageEntry(message, me) {
  const extras = [];
  if (message.source && message.source.title) {
    extras.push(el("p", { class: "message-source", text: t("bot_source", { title: message.source.title }) }));
  }
  if (Array.isArray(message.buttons) && message.buttons.length) {
    extras.push(
      el(
        "p",
        { class: "message-buttons" },
        el("span", { text: t("bot_offered") }),
        message.buttons.map((b) => el("span", { class: "chip", text: b.title || b.payload || "" })),
      ),
    );
  }
  return el(
    "li",
    { class: `entry message role-${message.role}`, dataset: { key: `m${message.seq}`, seq: String(message.seq) } },
    el(
      "p",
      { class: "entry-head" },
      el("span", { class: "entry-author", text: author(message, me) }),
      message.created_at ? el("time", { datetime: message.created_at, text: clockTime(message.created_at) }) : null,
    ),
    el("p", { class: "entry-text", text: message.text }),
    extras,
  );
}

function noteEntry(note) {
  return el(
    "li",
    { class: "entry note", dataset: { key: `n${note.id}` } },
    el(
      "p",
      { class: "entry-head" },
      el("span", { class: "entry-author", text: `${t("note_label")} · ${note.author || ""}` }),
      el("span", { class: "note-hidden", text: t("note_hidden") }),
      note.created_at ? el("time", { datetime: note.created_at, text: clockTime(note.created_at) }) : null,
    ),
    el("p", { class: "entry-text", text: note.text }),
  );
}

/** Messages by number, each note after the messages written before it. */
function entries(conversation) {
  const items = (conversation.messages || []).map((m) => ({ key: `m${m.seq}`, at: m.created_at, message: m }));
  const notes = (conversation.notes || []).map((n) => ({ key: `n${n.id}`, at: n.created_at, note: n }));
  for (const note of notes) {
    let index = items.length;
    while (index > 0 && note.at && items[index - 1].at && items[index - 1].at > note.at) index -= 1;
    items.splice(index, 0, note);
  }
  return items;
}

/**
 * Bring the transcript in line with the conversation, adding only what is new (what is
 * shown never changes), so that screen readers announce just the new lines.
 * Returns how many entries were added.
 */
let pinned = true; // the transcript follows its newest line unless the agent scrolled up

function atBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

/** Keep the newest line in view when the transcript's box shrinks (suggestions arrive, the
 * window is resized), unless the agent is reading further up. */
export function setUpTranscript() {
  const list = byId("transcript");
  list.addEventListener("scroll", () => {
    pinned = atBottom(list);
  });
  new ResizeObserver(() => {
    if (pinned) list.scrollTop = list.scrollHeight;
  }).observe(list);
}

export function syncTranscript(conversation, me) {
  const list = byId("transcript");
  const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
  let previous = null;
  let added = 0;
  for (const entry of entries(conversation)) {
    let node = existing.get(entry.key);
    if (node) existing.delete(entry.key);
    else {
      node = entry.note ? noteEntry(entry.note) : messageEntry(entry.message, me);
      added += 1;
    }
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (node !== expected) list.insertBefore(node, expected);
    previous = node;
  }
  for (const stale of existing.values()) stale.remove();
  if (added && pinned) list.scrollTop = list.scrollHeight;
  return added;
}

export function clearTranscript() {
  byId("transcript").replaceChildren();
  pinned = true;
}

// -- what the bot knew -------------------------------------------------------------------

function intentText(intent) {
  return intent ? tOr(`intent_${intent}`, intent) : "?";
}

function understoodDetails(understood) {
  return understood.map((u) =>
    el(
      "li",
      {},
      t("understood_line", { text: u.text || "", intent: intentText(u.intent), confidence: percent(u.confidence) }),
    ),
  );
}

function retrievalDetails(retrieval) {
  return retrieval.map((r) =>
    el(
      "li",
      {},
      t("tried_line", { query: r.query || "", decision: tOr(`decision_${r.decision}`, r.decision || "?") }),
      el(
        "ol",
        { class: "candidates" },
        (r.candidates || []).map((c) =>
          el("li", { text: t("candidate_line", { title: c.title || c.id || "?", score: score(c.score) }) }),
        ),
      ),
    ),
  );
}

function fact(label, value) {
  if (value === null || value === undefined || value === "") return [];
  return [el("dt", { text: label }), el("dd", {}, value)];
}

/** One of the customer's earlier conversations: when, where, what they first asked. */
function earlierConversation(c) {
  const when = [dateTime(c.created_at), channelText(c.channel)].filter(Boolean).join(" · ");
  return el(
    "a",
    { href: `/desk/c/${encodeURIComponent(c.id)}` },
    el("span", { class: "earlier-when", text: when || c.id }),
    c.first_customer_message ? el("span", { class: "earlier-text", text: ` — ${c.first_customer_message}` }) : "",
  );
}

function customerFacts(conversation) {
  const context = conversation.context || {};
  const customer = context.customer || {};
  const earlier = conversation.earlier_conversations || [];
  const earlierList = earlier.length
    ? el(
        "ul",
        { class: "earlier" },
        earlier.map((c) =>
          el(
            "li",
            {},
            c.id ? earlierConversation(c) : String(c),
          ),
        ),
      )
    : null;
  const address = conversation.contact_email || customer.email;
  const email = address ? el("a", { href: `mailto:${address}`, text: address }) : null;
  return [
    ...fact(t("field_channel"), channelText(conversation.channel)),
    ...fact(t("field_language"), languageText(conversation.language)),
    ...fact(t("field_email"), email),
    ...fact(t("field_first_contact"), customer.first_contact ? dateTime(customer.first_contact) : null),
    ...fact(t("field_messages"), customer.messages === undefined ? null : String(customer.messages)),
    ...fact(t("field_earlier_handoffs"), customer.earlier_handoffs ? String(customer.earlier_handoffs) : null),
    ...fact(t("field_earlier_conversations"), earlierList),
  ];
}

export function renderContext(conversation) {
  const context = conversation.context || {};
  byId("context-reason").textContent = reasonText(context.reason);

  const summary = Array.isArray(conversation.summary) ? conversation.summary : [];
  byId("context-summary").replaceChildren(
    ...(summary.length ? summary.map((line) => el("li", { text: line })) : [el("li", { text: t("summary_empty") })]),
  );

  const understood = context.understood || [];
  const retrieval = context.retrieval || [];
  show(byId("context-details-box"), understood.length + retrieval.length > 0);
  byId("context-details").replaceChildren(
    understood.length ? el("ul", { class: "detail-list" }, understoodDetails(understood)) : "",
    retrieval.length ? el("ul", { class: "detail-list" }, retrievalDetails(retrieval)) : "",
  );
  byId("context-customer").replaceChildren(...customerFacts(conversation));
}
