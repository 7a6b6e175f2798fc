// Writing: the reply box (Enter sends, Shift+Enter is a new line), internal notes, the
// FAQ's suggested answers for the customer's last message (agent assist), and "Save as
// FAQ draft".
"use strict";

import { ApiError, conversationPath, post } from "./api.js";
import { byId, el, feedback, score, show, t } from "./dom.js";

const box = () => byId("composer-text");

export function mode() {
  return byId("composer").dataset.mode;
}

export function setMode(value) {
  const form = byId("composer");
  form.dataset.mode = value;
  for (const radio of form.querySelectorAll('input[name="mode"]')) radio.checked = radio.value === value;
  const text = box();
  text.placeholder = text.dataset[value === "note" ? "placeholderNote" : "placeholderReply"];
  byId("composer-label").textContent = t(value === "note" ? "mode_note" : "mode_reply");
  const send = byId("send");
  send.textContent = send.dataset[value === "note" ? "labelNote" : "labelReply"];
}

/** Put a suggested answer into the reply box, for the agent to edit before sending. */
export function insertAnswer(answer) {
  setMode("reply");
  const text = box();
  text.value = text.value.trim() ? `${text.value.replace(/\s+$/, "")}\n\n${answer}` : answer;
  text.focus();
  text.setSelectionRange(text.value.length, text.value.length);
  text.scrollTop = text.scrollHeight;
}

export function renderSuggestions(suggestions) {
  const list = byId("suggestions");
  list.replaceChildren(
    ...suggestions.map((s) =>
      el(
        "li",
        { class: "suggestion" },
        el(
          "div",
          { class: "suggestion-body" },
          el(
            "p",
            { class: "suggestion-title" },
            el("span", { text: s.title || s.id || "" }),
            el("span", { class: "suggestion-score", text: t("suggestion_match", { score: score(s.score) }) }),
          ),
          el("p", { class: "suggestion-answer", text: s.answer || "" }),
        ),
        el("button", {
          type: "button",
          class: "insert",
          text: t("insert"),
          "aria-label": t("insert_label", { title: s.title || "" }),
          onclick: () => insertAnswer(s.answer || ""),
        }),
      ),
    ),
  );
  show(byId("suggestions-empty"), suggestions.length === 0);
}

export function clearComposer() {
  box().value = "";
  feedback(byId("composer-feedback"), "");
  renderSuggestions([]);
  show(byId("suggestions-empty"), false);
  delete byId("composer").dataset.forced;
  setMode("reply");
}

export function setWritable(canReply) {
  const form = byId("composer");
  form.classList.toggle("reply-locked", !canReply);
  const replyRadio = form.querySelector('input[name="mode"][value="reply"]');
  replyRadio.disabled = !canReply;
  if (!canReply && mode() === "reply") {
    setMode("note");
    form.dataset.forced = "note"; // not the agent's choice: undone once replying is possible
  } else if (canReply && form.dataset.forced) {
    delete form.dataset.forced;
    setMode("reply");
  }
}

/** The customer's question and the agent's answer a FAQ draft is made of, or null. */
export function draftFrom(conversation) {
  const messages = conversation.messages || [];
  let answerIndex = -1;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    if (messages[i].role === "agent") {
      answerIndex = i;
      break;
    }
  }
  if (answerIndex < 0) return null;
  for (let i = answerIndex - 1; i >= 0; i -= 1) {
    if (messages[i].role === "customer") return { question: messages[i].text, answer: messages[answerIndex].text };
  }
  return null;
}

/**
 * Wire the form. `handlers.current()` is the open conversation; `handlers.sent(kind,
 * body)` runs after a reply or note is stored.
 */
export function setUpComposer(handlers) {
  const form = byId("composer");
  const text = box();
  const status = byId("composer-feedback");
  let busy = false;

  form.addEventListener("change", (event) => {
    if (event.target.name !== "mode") return;
    delete form.dataset.forced;
    setMode(event.target.value);
  });

  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const conversation = handlers.current();
    if (!conversation || busy) return;
    const value = text.value.trim();
    if (!value) return feedback(status, t("error_empty"), "error");
    const kind = mode();
    busy = true;
    byId("send").disabled = true;
    try {
      const path = conversationPath(conversation.id, kind === "note" ? "/notes" : "/messages");
      const body = await post(path, { text: value });
      text.value = "";
      feedback(status, kind === "note" ? t("note_added") : "");
      await handlers.sent(kind, body);
    } catch (error) {
      await handlers.failed(error, status);
    } finally {
      busy = false;
      byId("send").disabled = false;
      text.focus();
    }
  });

  byId("save-draft").addEventListener("click", async () => {
    const conversation = handlers.current();
    if (!conversation) return;
    const draft = draftFrom(conversation);
    if (!draft) return feedback(status, t("draft_needs"), "error");
    try {
      const body = await post(conversationPath(conversation.id, "/drafts"), draft);
      feedback(status, t("draft_saved", { path: body.path || "" }));
    } catch (error) {
      feedback(status, error instanceof ApiError ? t("error_request", { detail: error.message }) : "", "error");
    }
  });
}
