/* Shared helpers for the simulator pages. Every piece of data is written with
 * textContent (no HTML parsing of data) and only http(s) URLs become links or images. */
"use strict";

const Sim = (() => {
  async function api(path, options) {
    // Relative URL: works under any mount prefix (the pages live next to api/).
    const init = Object.assign({ headers: { "Content-Type": "application/json" } }, options || {});
    const response = await fetch(path, init);
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { ok: response.ok, status: response.status, body: body };
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) { return null; }
  }

  function buttonNode(button, onPostback) {
    const title = button && button.title ? button.title : "Button";
    if (button.type === "web_url") {
      const href = safeUrl(button.url);
      const link = el("a", "template-button", title);
      if (href) { link.href = href; link.target = "_blank"; link.rel = "noopener noreferrer"; }
      return link;
    }
    if (button.type === "phone_number") {
      const link = el("a", "template-button", title);
      const digits = String(button.payload || "").replace(/[^0-9+]/g, "");
      if (digits) link.href = "tel:" + digits;
      return link;
    }
    const node = el("button", "template-button", title);
    node.type = "button";
    if (onPostback) node.addEventListener("click", () => onPostback(button.payload, title));
    else node.disabled = true;
    return node;
  }

  function attachmentNode(attachment, onPostback) {
    const box = el("div", "attachment");
    const payload = (attachment && attachment.payload) || {};
    if (attachment.type === "template") {
      if (payload.template_type === "button") {
        box.appendChild(el("div", "template-text", payload.text));
        (payload.buttons || []).forEach((b) => box.appendChild(buttonNode(b, onPostback)));
      } else if (payload.template_type === "generic") {
        (payload.elements || []).forEach((element) => {
          const card = el("div", "card");
          const img = safeUrl(element.image_url);
          if (img) { const image = el("img", "card-image"); image.src = img; image.alt = ""; card.appendChild(image); }
          card.appendChild(el("div", "card-title", element.title));
          if (element.subtitle) card.appendChild(el("div", "card-subtitle", element.subtitle));
          (element.buttons || []).forEach((b) => card.appendChild(buttonNode(b, onPostback)));
          box.appendChild(card);
        });
      } else {
        box.appendChild(el("div", "attachment-label", "[" + (payload.template_type || "template") + "]"));
      }
      return box;
    }
    if (attachment.type === "location" && payload.coordinates) {
      box.appendChild(el("div", "attachment-label",
        "📍 " + payload.coordinates.lat + ", " + payload.coordinates.long));
      return box;
    }
    if (payload.sticker_id) { box.appendChild(el("div", "sticker", "👍")); return box; }
    const href = safeUrl(payload.url);
    const label = el(href ? "a" : "span", "attachment-label", "[" + (attachment.type || "file") + "]");
    if (href) { label.href = href; label.target = "_blank"; label.rel = "noopener noreferrer"; }
    box.appendChild(label);
    return box;
  }

  function messageNode(message, onPostback) {
    const node = el("div", "message " + (message.from === "buyer" ? "from-buyer" : "from-page"));
    node.dataset.mid = message.mid;
    node.dataset.source = message.source;
    if (message.source === "inbox") node.appendChild(el("div", "source-label", "Page Inbox"));
    if (message.kind === "postback") node.classList.add("postback");
    if (message.text !== null && message.text !== undefined && message.text !== "") {
      node.appendChild(el("div", "text", message.text));
    }
    (message.attachments || []).forEach((a) => node.appendChild(attachmentNode(a, onPostback)));
    const meta = [];
    if (message.edits) meta.push("edited");
    (message.reactions || []).forEach((r) => meta.push(r.emoji || r.reaction));
    if (message.from === "page" && message.read) meta.push("seen");
    if (meta.length) node.appendChild(el("div", "meta", meta.join(" · ")));
    node.title = message.created_at || "";
    return node;
  }

  function renderThread(container, messages, onPostback) {
    const stick = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
    container.replaceChildren(...messages.map((m) => messageNode(m, onPostback)));
    if (stick) container.scrollTop = container.scrollHeight;
  }

  function setStatus(text, isError) {
    const node = document.getElementById("status");
    if (!node) return;
    node.textContent = text || "";
    node.classList.toggle("error", Boolean(isError));
  }

  function errorText(result) {
    const err = result.body && result.body.error;
    return (err && err.message) || ("HTTP " + result.status);
  }

  return { api, el, renderThread, setStatus, errorText };
})();
