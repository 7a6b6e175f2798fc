// The queue column: waiting conversations (oldest first) and those in progress, with
// who has which. Rebuilt from `/desk/api/queue` on every queue event.
"use strict";

import { byId, el, show, t, ticking, tOr, waitingSince } from "./dom.js";

export function reasonText(reason, short = false) {
  if (!reason) return t("reason_unknown");
  return tOr(short ? `reason_short_${reason}` : `reason_${reason}`, reason);
}

export function channelText(channel) {
  return tOr(`channel_${channel}`, t("channel_unknown", { channel }));
}

export function languageText(language) {
  return tOr(`language_${language}`, t("language_unknown", { language }));
}

function owner(item) {
  if (item.status !== "assigned") return null;
  const words = item.assigned_to_me ? t("handled_by_you") : t("handled_by", { name: item.assigned_to || "?" });
  return el("span", { class: item.assigned_to_me ? "owner owner-me" : "owner", text: words });
}

function item(entry, openId, fetchedAt) {
  const since = waitingSince(entry, fetchedAt);
  const preview = entry.last_customer_message || t("no_message_yet");
  const link = el(
    "a",
    {
      class: "queue-link",
      href: `/desk/c/${encodeURIComponent(entry.id)}`,
      dataset: { id: entry.id },
      "aria-current": entry.id === openId ? "page" : null,
    },
    el(
      "span",
      { class: "queue-line" },
      el("span", { class: "queue-reason", title: reasonText(entry.reason), text: reasonText(entry.reason, true) }),
      since === null ? null : ticking(since, "queue_wait", { class: "queue-wait", title: t("field_waiting") }),
    ),
    el("span", { class: "queue-message", text: preview }),
    el(
      "span",
      { class: "queue-line queue-meta" },
      el("abbr", { class: "tag", title: languageText(entry.language), text: String(entry.language).toUpperCase() }),
      el("span", { class: "queue-channel", text: channelText(entry.channel) }),
      entry.ticket ? el("span", { class: "tag tag-ticket", text: t("ticket") }) : null,
      entry.ticket && entry.contact_email ? el("span", { class: "queue-email", text: entry.contact_email }) : null,
      owner(entry),
    ),
  );
  const classes = ["queue-item", `is-${entry.status}`];
  if (entry.assigned_to_me) classes.push("is-mine");
  if (entry.id === openId) classes.push("is-open");
  return el("li", { class: classes.join(" "), dataset: { id: entry.id } }, link);
}

function fill(listId, emptyId, countId, entries, openId, fetchedAt) {
  const list = byId(listId);
  list.replaceChildren(...entries.map((entry) => item(entry, openId, fetchedAt)));
  show(byId(emptyId), entries.length === 0);
  byId(countId).textContent = String(entries.length);
}

/**
 * Draw the queue. Keyboard focus stays on the same conversation's link across redraws,
 * so the list can change under an agent who is moving through it.
 */
export function renderQueue(conversations, openId, fetchedAt) {
  const focused = document.activeElement && document.activeElement.closest(".queue-link");
  const focusedId = focused ? focused.dataset.id : null;
  const waiting = conversations.filter((c) => c.status === "queued");
  const active = conversations.filter((c) => c.status !== "queued");
  fill("queue-waiting", "queue-waiting-empty", "queue-waiting-count", waiting, openId, fetchedAt);
  fill("queue-active", "queue-active-empty", "queue-active-count", active, openId, fetchedAt);
  if (focusedId) {
    const again = document.querySelector(`.queue-link[data-id="${CSS.escape(focusedId)}"]`);
    if (again) again.focus();
  }
}

/** Mark the open conversation in the queue without redrawing it. */
export function markOpen(openId) {
  for (const node of document.querySelectorAll(".queue-item")) {
    const open = node.dataset.id === openId;
    node.classList.toggle("is-open", open);
    const link = node.querySelector(".queue-link");
    if (open) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}
