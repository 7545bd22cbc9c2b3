/* Seller dashboard. Every piece of data is written with textContent (never parsed as HTML).
 * The session is the HttpOnly accorria_session cookie (the page never sees it); every state-changing
 * call repeats the accorria_csrf cookie's value in the X-CSRF-Token header (double-submit CSRF). */
"use strict";

(() => {
  const POLL_MS = 2000;

  const $ = (id) => document.getElementById(id);
  let selectedId = null;
  let lastDetailJson = "";
  let polling = false;
  let again = false;
  let stopped = false;

  function csrfToken() {
    const match = document.cookie.split("; ").find((c) => c.startsWith("accorria_csrf="));
    return match ? decodeURIComponent(match.slice("accorria_csrf=".length)) : "";
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(node, text, isError) {
    node.textContent = text || "";
    node.classList.toggle("error", Boolean(isError));
  }

  function unauthorized() {
    stopped = true;
    $("auth-error").hidden = false;
    $("layout").hidden = true;
  }

  async function api(path, options) {
    const init = Object.assign({}, options || {});
    init.headers = Object.assign({}, init.headers || {});
    init.credentials = "same-origin";
    if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
    if (init.body !== undefined) init.headers["Content-Type"] = "application/json";
    const response = await fetch("../api/" + path, init);
    if (response.status === 401) {
      unauthorized();
      throw new Error("unauthorized");
    }
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { ok: response.ok, status: response.status, body: body };
  }

  function duration(seconds) {
    if (seconds >= 2 * 86400) return Math.floor(seconds / 86400) + " d";
    if (seconds >= 3600) return Math.floor(seconds / 3600) + " h";
    if (seconds >= 60) return Math.floor(seconds / 60) + " min";
    return Math.max(0, Math.floor(seconds)) + " s";
  }

  function windowText(c) {
    if (c.expires_in > 0) return "window closes in " + duration(c.expires_in);
    if (c.human_agent_expires_in > 0) {
      return "24-hour window closed; a human reply (HUMAN_AGENT tag) is possible for " +
        duration(c.human_agent_expires_in);
    }
    return c.last_buyer_message_at ? "window closed" : "the buyer has not written";
  }

  function money(value) {
    if (value === null || value === undefined) return null;
    const n = Number(value);
    return Number.isFinite(n) ? "$" + n.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(value);
  }

  function buyerName(c) {
    return c.buyer_name || ("Buyer " + c.buyer_psid);
  }

  function modeNode(mode) {
    const labels = { bot: "bot", paused: "paused (you)", handed_off: "handed off" };
    return el("span", "mode mode-" + String(mode).replace(/[^a-z_]/g, ""), labels[mode] || mode);
  }

  function renderList(conversations) {
    const list = $("conversation-list");
    const items = conversations.map((c) => {
      const item = el("li", "conversation-item" + (c.id === selectedId ? " selected" : ""));
      item.dataset.id = String(c.id);
      item.tabIndex = 0;
      const name = el("span", "name", buyerName(c));
      item.append(name, modeNode(c.mode));
      if (c.unread_notifications > 0) item.append(el("span", "badge unread", c.unread_notifications));
      item.append(el("div", "window hint", windowText(c)));
      if (c.listing) item.append(el("div", "hint", c.listing.title));
      const last = c.last_message;
      item.append(el("div", "preview", last ? last.author + ": " + (last.text || "(no text)") : ""));
      item.addEventListener("click", () => select(c.id));
      item.addEventListener("keydown", (e) => { if (e.key === "Enter") select(c.id); });
      return item;
    });
    list.replaceChildren(...items);
    $("conversation-empty").hidden = conversations.length > 0;
  }

  function negotiationText(c) {
    const n = c.negotiation || {};
    const parts = [];
    if (c.listing) {
      parts.push(c.listing.title + " — asking " + money(c.listing.asking_price) +
        ", your floor " + money(c.listing.price_floor));
    }
    if (n.best_offer !== null && n.best_offer !== undefined) parts.push("best offer " + money(n.best_offer));
    if (n.last_counter !== null && n.last_counter !== undefined) parts.push("last counter " + money(n.last_counter));
    if (n.agreed_price !== null && n.agreed_price !== undefined) parts.push("agreed " + money(n.agreed_price));
    return parts.join(" · ");
  }

  function messageNode(m) {
    const item = el("li", "message from-" + String(m.author).replace(/[^a-z]/g, "") + " " +
      String(m.status).replace(/[^a-z]/g, ""));
    item.dataset.status = m.status;
    item.append(el("div", "text", m.text || (m.attachment_types.length ? "[" + m.attachment_types.join(", ") + "]" : "")));
    const meta = [m.author, new Date(m.sent_at).toLocaleString()];
    if (m.direction === "outbound") meta.push(m.status);
    if (m.tag) meta.push("tag " + m.tag);
    item.append(el("div", "meta", meta.join(" · ")));
    if (m.status_reason && ["refused", "failed", "dropped"].includes(m.status)) {
      item.append(el("div", "status-reason", "Not sent: " + m.status_reason));
    }
    return item;
  }

  function renderDetail(c) {
    const json = JSON.stringify(c);
    if (json === lastDetailJson) return; // unchanged: keep the scroll position
    lastDetailJson = json;
    $("conversation-title").textContent = buyerName(c) + " — " + c.page_name;
    $("conversation-mode").replaceChildren(modeNode(c.mode));
    $("conversation-window").textContent = windowText(c) + (c.paused_reason ? " · " + c.paused_reason : "");
    $("negotiation").textContent = negotiationText(c);
    $("pause-button").disabled = c.mode === "paused";
    $("resume-button").disabled = c.mode === "bot";
    $("reply-input").disabled = false;
    $("reply-send").disabled = false;
    const box = $("messages");
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
    box.replaceChildren(...c.messages.map(messageNode));
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function renderNotifications(notes) {
    const unread = notes.filter((n) => !n.read_at).length;
    const badge = $("notification-count");
    badge.hidden = unread === 0;
    badge.textContent = unread + " new";
    $("notifications").replaceChildren(...notes.map((n) => {
      const item = el("li", "notification" + (n.read_at ? "" : " unread"));
      item.append(el("div", "", n.text));
      item.append(el("div", "hint", n.kind + " · " + new Date(n.created_at).toLocaleString()));
      if (n.conversation_id !== null) {
        const open = el("button", "", "Open");
        open.type = "button";
        open.addEventListener("click", () => select(n.conversation_id));
        item.append(open);
      }
      if (!n.read_at) {
        const read = el("button", "", "Mark read");
        read.type = "button";
        read.addEventListener("click", async () => {
          await api("notifications/" + encodeURIComponent(n.id) + "/read", { method: "POST" });
          refresh();
        });
        item.append(read);
      }
      return item;
    }));
  }

  function renderSettings(pages) {
    $("settings").replaceChildren(...pages.map((p) => {
      const box = el("div", "setting");
      box.append(el("div", "", p.page_name + " (" + p.page_status + ")"));
      const toggles = [
        ["bot_enabled", "Assistant answers buyers"],
        ["human_agent_tag_enabled", "Allow my replies up to 7 days (HUMAN_AGENT tag)"],
      ];
      for (const [field, label] of toggles) {
        const row = el("label", "");
        const input = el("input", "");
        input.type = "checkbox";
        input.checked = Boolean(p[field]);
        input.dataset.field = field;
        input.addEventListener("change", async () => {
          const body = {};
          body[field] = input.checked;
          const r = await api("settings/" + encodeURIComponent(p.tenant_id), {
            method: "PATCH", body: JSON.stringify(body),
          });
          setStatus($("status"), r.ok ? "Settings saved" : "Settings not saved", !r.ok);
        });
        row.append(input, " ", label);
        box.append(row, el("br"));
      }
      return box;
    }));
  }

  async function refresh() {
    if (stopped) return;
    if (polling) { again = true; return; } // a click during a poll is served right after it
    polling = true;
    try {
      const list = await api("conversations");
      if (list.ok) renderList(list.body);
      if (selectedId !== null) {
        const detail = await api("conversations/" + encodeURIComponent(selectedId));
        if (detail.ok) renderDetail(detail.body);
      }
      const notes = await api("notifications");
      if (notes.ok) renderNotifications(notes.body);
      setStatus($("status"), "", false);
    } catch (error) {
      if (!stopped) setStatus($("status"), "Connection problem; retrying…", true);
    } finally {
      polling = false;
      if (again) { again = false; refresh(); }
    }
  }

  async function loadSettings() {
    try {
      const r = await api("settings");
      if (r.ok) renderSettings(r.body);
    } catch (_) { /* shown by the poll */ }
  }

  function select(id) {
    selectedId = id;
    lastDetailJson = "";
    setStatus($("reply-status"), "", false);
    refresh();
  }

  async function act(action) {
    if (selectedId === null) return;
    const r = await api("conversations/" + encodeURIComponent(selectedId) + "/" + action, { method: "POST" });
    setStatus($("reply-status"), r.ok ? (action === "pause" ? "Bot paused: you answer this buyer."
      : "Bot resumed for this buyer.") : "Could not " + action, !r.ok);
    refresh();
  }

  async function sendReply(event) {
    event.preventDefault();
    const input = $("reply-input");
    const text = input.value.trim();
    if (!text || selectedId === null) return;
    $("reply-send").disabled = true;
    try {
      const r = await api("conversations/" + encodeURIComponent(selectedId) + "/messages", {
        method: "POST", body: JSON.stringify({ text: text }),
      });
      if (r.ok && r.body.status === "sent") {
        input.value = "";
        setStatus($("reply-status"), "Sent" + (r.body.tag ? " with the " + r.body.tag + " tag" : ""), false);
      } else if (r.ok) {
        setStatus($("reply-status"), "Not sent (" + r.body.status + "): " + (r.body.status_reason || ""), true);
      } else {
        setStatus($("reply-status"), "Not sent: the message must be 1 to 2,000 characters", true);
      }
    } catch (_) {
      setStatus($("reply-status"), "Not sent: connection problem", true);
    } finally {
      $("reply-send").disabled = false;
      refresh();
    }
  }

  function start() {
    $("pause-button").addEventListener("click", () => act("pause"));
    $("resume-button").addEventListener("click", () => act("resume"));
    $("reply-form").addEventListener("submit", sendReply);
    refresh();
    loadSettings();
    setInterval(refresh, POLL_MS);
  }

  start();
})();
