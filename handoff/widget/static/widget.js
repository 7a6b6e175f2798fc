/*
 * faqbot's website chat widget. One tag on any page:
 *
 *   <script src="https://HUB/widget/widget.js" data-hub="https://HUB" defer
 *           data-language="pl" data-title="Pomoc" data-color="#1f6f5c"></script>
 *
 * A classic script (no modules, no build). Everything lives in a Shadow DOM root, so the
 * page's styles and the widget's do not meet; the styles are the hub's widget.css.
 *
 * It speaks the customer API (README, section 1): the conversation's {id, token} stay
 * in localStorage per hub, so a reload resumes the conversation with its history; new
 * messages arrive by long-polling, which reconnects by itself after the network drops,
 * de-duplicated by `seq`. Only a message's `html` field (sanitised by the hub) is
 * parsed as HTML; everything else goes in as text.
 */
(function () {
  "use strict";

  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  if (!script || script.getAttribute("data-faqbot-loaded")) return;
  script.setAttribute("data-faqbot-loaded", "1");

  var HUB = (script.getAttribute("data-hub") || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var STORE_KEY = "faqbot-widget:" + HUB;
  var VISITOR_KEY = "faqbot-widget-visitor:" + HUB;
  // Messages sent but not yet answered, kept across a reload: one cut short is sent again
  // under the same client_id, and the hub stores it once.
  var OUTBOX_KEY = "faqbot-widget-outbox:" + HUB;
  var POLL_WAIT = 25; // seconds the hub holds a long-poll open
  var MAX_BACKOFF = 30000;

  var TEXTS = {
    pl: {
      title: "Pomoc sklepu",
      open: "Otwórz czat z pomocą",
      close: "Zamknij czat",
      welcome: "Dzień dobry! Zadaj pytanie o zamówienie, dostawę, zwrot lub płatność.",
      placeholder: "Napisz wiadomość…",
      input: "Twoja wiadomość",
      send: "Wyślij",
      transcript: "Rozmowa",
      typing: "Pisze…",
      you: "Ty",
      bot: "Asystent",
      agent: "Konsultant",
      agentNamed: "Konsultant: {name}",
      source: "Źródło: {title}",
      queued: "Czekasz na konsultanta. Jesteś {position}. w kolejce.",
      wait: "Przewidywany czas oczekiwania: ok. {minutes} min.",
      assigned: "Rozmawiasz z konsultantem.",
      assignedNamed: "Rozmawiasz z konsultantem: {name}.",
      offline: "Brak połączenia. Łączę ponownie…",
      failed: "Nie udało się wysłać. Spróbuj jeszcze raz.",
      choices: "Możliwe odpowiedzi",
    },
    en: {
      title: "Shop help",
      open: "Open the help chat",
      close: "Close the chat",
      welcome: "Hello! Ask about an order, delivery, a return or a payment.",
      placeholder: "Write a message…",
      input: "Your message",
      send: "Send",
      transcript: "Conversation",
      typing: "Typing…",
      you: "You",
      bot: "Assistant",
      agent: "Consultant",
      agentNamed: "Consultant: {name}",
      source: "Source: {title}",
      queued: "Waiting for a consultant. You are number {position} in the queue.",
      wait: "Expected wait: about {minutes} min.",
      assigned: "You are talking to a consultant.",
      assignedNamed: "You are talking to {name}.",
      offline: "No connection. Reconnecting…",
      failed: "Could not send. Please try again.",
      choices: "Possible answers",
    },
  };

  var asked = (script.getAttribute("data-language") || "").toLowerCase();
  var LANG = TEXTS[asked] ? asked : /^pl\b/i.test(navigator.language || "") ? "pl" : "en";

  function t(key, values) {
    return TEXTS[LANG][key].replace(/\{(\w+)\}/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }

  /** A new element: `props.text` as textContent, `props.class`, `on*` listeners, attributes. */
  function el(tag, props) {
    var node = document.createElement(tag);
    var children = Array.prototype.slice.call(arguments, 2);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, String(value));
    });
    children.forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  /** HTML that the hub already sanitised (the `html` field, and nothing else). */
  function sanitisedFragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // -- the page ------------------------------------------------------------------------

  var host = el("div", { id: "faqbot-widget" });
  host.style.cssText = "all: initial; position: fixed; z-index: 2147483000; right: 0; bottom: 0;";
  var root = host.attachShadow({ mode: "open" });
  var color = script.getAttribute("data-color");
  if (color && window.CSS && CSS.supports("color", color)) host.style.setProperty("--faqbot-accent", color);

  var launcher = el("button", { class: "launcher", type: "button", "aria-label": t("open"), "aria-expanded": "false" });
  launcher.appendChild(el("span", { class: "launcher-icon", "aria-hidden": "true" }));
  var badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  launcher.appendChild(badge);

  var title = script.getAttribute("data-title") || t("title");
  var closeButton = el("button", { class: "close", type: "button", "aria-label": t("close"), text: "×" });
  var statusLine = el("p", { class: "status", hidden: true, role: "status" });
  var transcript = el("div", { class: "transcript", role: "log", "aria-live": "polite", "aria-label": t("transcript"), tabindex: "0" });
  var typing = el("div", { class: "typing", hidden: true, "aria-label": t("typing"), role: "status" },
    el("span", { "aria-hidden": "true" }), el("span", { "aria-hidden": "true" }), el("span", { "aria-hidden": "true" }));
  var connection = el("p", { class: "connection", hidden: true, role: "alert", text: t("offline") });
  var input = el("textarea", { class: "input", rows: "1", maxlength: "2000", placeholder: t("placeholder"), "aria-label": t("input") });
  var sendButton = el("button", { class: "send", type: "submit", text: t("send") });
  var form = el("form", { class: "composer" }, input, sendButton);
  var panel = el(
    "section",
    { class: "panel", role: "dialog", "aria-label": title, hidden: true, lang: LANG },
    el("header", { class: "header" }, el("h2", { class: "title", text: title }), closeButton),
    statusLine,
    transcript,
    typing,
    connection,
    form,
  );

  var stylesheet = el("link", { rel: "stylesheet", href: HUB + "/widget/widget.css" });
  var frame = el("div", { class: "frame", hidden: true }, launcher, panel);
  stylesheet.addEventListener("load", function () { frame.hidden = false; });
  stylesheet.addEventListener("error", function () { frame.hidden = false; });
  root.appendChild(stylesheet);
  root.appendChild(frame);
  transcript.appendChild(el("div", { class: "msg role-bot welcome" }, el("div", { class: "body", text: t("welcome") })));

  // -- state ---------------------------------------------------------------------------

  var conversation = load();
  var seen = {}; // seq -> true: every message is shown once
  var lastSeq = 0;
  var pending = []; // the customer's messages shown before the hub numbered them
  var starting = null; // the new conversation being made: messages sent meanwhile wait for it
  var polling = false;
  var pollController = null;
  var backoff = 1000;
  var retryTimer = null;
  var unread = 0;
  var lastAgentName = null;

  function load() {
    try {
      var stored = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      return stored && typeof stored.id === "string" && typeof stored.token === "string" ? stored : null;
    } catch (error) {
      return null;
    }
  }

  function save(value) {
    conversation = value;
    try {
      if (value) localStorage.setItem(STORE_KEY, JSON.stringify(value));
      else localStorage.removeItem(STORE_KEY);
    } catch (error) {
      /* private mode: the conversation lasts as long as the page */
    }
  }

  // -- the hub -------------------------------------------------------------------------

  function api(method, path, body, timeoutMs, controller) {
    var headers = { "Content-Type": "application/json" };
    if (conversation) headers.Authorization = "Bearer " + conversation.token;
    controller = controller || (window.AbortController ? new AbortController() : null);
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeoutMs || 20000) : null;
    return fetch(HUB + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
      credentials: "omit",
      cache: "no-store",
    }).then(
      function (response) {
        clearTimeout(timer);
        return response.json().then(
          function (json) { return { status: response.status, body: json }; },
          function () { return { status: response.status, body: {} }; },
        );
      },
      function (error) {
        clearTimeout(timer);
        throw error;
      },
    );
  }

  function messagesPath() {
    return "/api/conversations/" + encodeURIComponent(conversation.id) + "/messages";
  }

  function forget() {
    save(null);
    polling = false;
  }

  /** A new conversation. The hub's `visitor` token, kept apart, makes the next
   *  conversation in this browser the same customer's (agents see the earlier ones). */
  function start() {
    var body = { language: LANG };
    var visitor = remembered(VISITOR_KEY);
    if (visitor) body.visitor = visitor;
    return api("POST", "/api/conversations", body).then(function (response) {
      if (response.status !== 201) throw new Error("start: " + response.status);
      if (typeof response.body.visitor === "string") remember(VISITOR_KEY, response.body.visitor);
      save({ id: response.body.id, token: response.body.token });
      lastSeq = 0;
    });
  }

  function remembered(key) {
    try {
      return localStorage.getItem(key);
    } catch (error) {
      return null;
    }
  }

  function remember(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (error) {
      /* private mode */
    }
  }

  /** Long-poll for new messages until the conversation is gone; back off after errors. */
  function poll() {
    if (polling || !conversation) return;
    polling = true;
    var current = conversation;
    pollController = window.AbortController ? new AbortController() : null;
    var path = messagesPath() + "?after=" + lastSeq + "&wait=" + POLL_WAIT;
    api("GET", path, undefined, (POLL_WAIT + 10) * 1000, pollController).then(
      function (response) {
        polling = false;
        if (current !== conversation) return poll();
        if (response.status === 401 || response.status === 403 || response.status === 404) return forget();
        if (response.status !== 200) return retry();
        connected();
        show(response.body);
        poll();
      },
      function () {
        polling = false;
        retry();
      },
    );
  }

  function retry() {
    connection.hidden = false;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(poll, backoff);
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
  }

  function connected() {
    backoff = 1000;
    connection.hidden = true;
  }

  // The browser knows first: drop the open long-poll at once, and resume when back.
  window.addEventListener("offline", function () {
    if (pollController) pollController.abort();
  });
  window.addEventListener("online", function () {
    if (!polling && conversation) {
      clearTimeout(retryTimer);
      backoff = 1000;
      poll();
    }
  });

  function newClientId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function outbox() {
    try {
      var stored = JSON.parse(localStorage.getItem(OUTBOX_KEY) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function keepOutbox(items) {
    try {
      if (items.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(items));
      else localStorage.removeItem(OUTBOX_KEY);
    } catch (error) {
      /* private mode: a reload may cut a message short, as without the outbox */
    }
  }

  /** What a reload cut short, sent again (before the history is read, so that the
   *  history's copy of a message the hub already had is matched, not shown twice). */
  function resendOutbox() {
    var waiting = outbox();
    keepOutbox([]);
    waiting.forEach(function (item) {
      if (item && typeof item.text === "string" && typeof item.id === "string") send(item.text, item.shown, item.id);
    });
  }

  function send(text, shown, clientId) {
    text = text.trim();
    if (!text) return;
    clientId = clientId || newClientId();
    var local = addMessage({ role: "customer", text: shown || text, html: null });
    pending.push({ text: shown || text, node: local });
    keepOutbox(outbox().concat([{ id: clientId, text: text, shown: shown || null }]));
    var sent = function () {
      keepOutbox(outbox().filter(function (item) { return item.id !== clientId; }));
    };
    typing.hidden = false;
    scrollDown();
    var ready = conversation ? Promise.resolve() : starting || (starting = start());
    ready
      .then(function () {
        starting = null;
        return api("POST", messagesPath(), { text: text, client_id: clientId }, 40000);
      })
      .then(function (response) {
        sent();
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          forget();
          throw new Error("conversation gone");
        }
        if (response.status !== 200) throw new Error("send: " + response.status);
        connected();
        typing.hidden = true;
        show(response.body); // a message sent again comes back itself: matched with `local`
        if ((response.body.messages || []).length) {
          // the replies are numbered after this message: no later poll returns it
          pending = pending.filter(function (p) { return p.node !== local; });
        }
        poll();
      })
      .catch(function () {
        starting = null;
        sent(); // shown as failed: the customer decides whether to send it again
        typing.hidden = true;
        local.classList.add("failed");
        local.appendChild(el("p", { class: "note", text: t("failed") }));
        pending = pending.filter(function (p) { return p.node !== local; });
      });
  }

  // -- showing messages ----------------------------------------------------------------

  function show(body) {
    (body.messages || []).forEach(function (message) {
      if (typeof message.seq !== "number" || seen[message.seq]) return;
      seen[message.seq] = true;
      lastSeq = Math.max(lastSeq, message.seq);
      if (message.role === "customer") {
        var mine = pending.findIndex(function (p) { return p.text === message.text; });
        if (mine >= 0) {
          pending.splice(mine, 1);
          return; // already on screen
        }
      } else {
        typing.hidden = true;
      }
      if (message.role === "agent" && message.author) lastAgentName = message.author;
      addMessage(message);
      if (panel.hidden && message.role !== "customer") {
        unread += 1;
        badge.textContent = String(unread);
        badge.hidden = false;
      }
    });
    showStatus(body.status, body.queue);
    scrollDown();
  }

  function addMessage(message) {
    var role = ["customer", "bot", "agent", "system"].indexOf(message.role) >= 0 ? message.role : "system";
    var who = role === "customer" ? t("you") : role === "agent" ? (message.author ? message.author : t("agent")) : role === "bot" ? t("bot") : null;
    var content = el("div", { class: "body" });
    if (typeof message.html === "string") content.appendChild(sanitisedFragment(message.html));
    else content.textContent = message.text;
    var node = el("div", { class: "msg role-" + role }, who ? el("p", { class: "who", text: who }) : null, content);
    if (message.source && message.source.title) {
      node.appendChild(el("p", { class: "source", text: t("source", { title: message.source.title }) }));
    }
    if (message.buttons && message.buttons.length) node.appendChild(buttons(message.buttons));
    transcript.appendChild(node);
    return node;
  }

  function buttons(list) {
    var group = el("div", { class: "buttons", role: "group", "aria-label": t("choices") });
    list.forEach(function (button) {
      group.appendChild(
        el("button", {
          type: "button",
          class: "choice",
          text: button.title,
          onclick: function () {
            Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) { b.disabled = true; });
            send(button.payload, button.title);
            input.focus();
          },
        }),
      );
    });
    return group;
  }

  function showStatus(status, queue) {
    var lines = [];
    if (status === "queued" && queue) {
      lines.push(t("queued", { position: queue.position }));
      if (typeof queue.expected_wait_seconds === "number") {
        lines.push(t("wait", { minutes: Math.max(1, Math.round(queue.expected_wait_seconds / 60)) }));
      }
    } else if (status === "assigned") {
      lines.push(lastAgentName ? t("assignedNamed", { name: lastAgentName }) : t("assigned"));
    }
    statusLine.textContent = lines.join(" ");
    statusLine.hidden = lines.length === 0;
  }

  function scrollDown() {
    transcript.scrollTop = transcript.scrollHeight;
  }

  // -- opening, closing, typing ---------------------------------------------------------

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", t("close"));
    frame.classList.add("open");
    unread = 0;
    badge.hidden = true;
    scrollDown();
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", t("open"));
    frame.classList.remove("open");
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) open();
    else close();
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  function mount() {
    document.body.appendChild(host);
    resendOutbox(); // a new conversation, if the reload came before it was made
    if (conversation) poll(); // the history (after=0), then live messages
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
