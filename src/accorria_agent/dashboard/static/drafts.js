/* Co-pilot: the assistant's draft reply in the thread. The seller sends it as it is, edits and sends it,
 * or discards it (writing their own in the reply box below discards it too). An edit below the floor is
 * refused by the server (422 below_floor) and sent only after the seller confirms in a dialog. */

import { api, errorText, wentOut } from "./api.js";
import { el, money, status } from "./dom.js";

const ACTIONS = { counter: "counter", accept: "accept", ask_offer: "ask for an offer", handoff: "hand off" };

/** The draft box: ``update(conversation)`` shows its draft (keeping an edit in progress); after a send or a
 * discard ``onChange`` reloads the thread and the outcome is written to ``outcome`` (the box then hides). */
export function draftBox(onChange, outcome) {
  const state = { conversationId: null, draftId: null };
  const heading = el("h3", { id: "draft-heading", text: "The assistant's draft" });
  const hint = el("p", { id: "draft-hint", class: "hint" });
  const text = el("textarea", { id: "draft-text", name: "draft", rows: "3", maxlength: "2000" });
  const sendButton = el("button", { id: "draft-send", type: "submit", text: "Send draft" });
  const discardButton = el("button", { id: "draft-discard", type: "button", class: "secondary", text: "Discard" });
  const out = el("p", { id: "draft-status", class: "status", role: "status" });
  const form = el("form", { id: "draft-form", class: "draft", autocomplete: "off", "aria-labelledby": "draft-heading" },
    heading, hint,
    el("label", { for: "draft-text", class: "visually-hidden", text: "Draft reply (edit before sending if you like)" }),
    text, el("div", { class: "actions" }, sendButton, discardButton), out);
  const confirmText = el("p", { id: "draft-confirm-text" });
  const confirmSend = el("button", { id: "draft-confirm-send", type: "button", text: "Send anyway" });
  const confirmCancel = el("button", { id: "draft-confirm-cancel", type: "button", class: "secondary", text: "Cancel" });
  const dialog = el("dialog", { id: "draft-confirm", "aria-labelledby": "draft-confirm-title" },
    el("h2", { id: "draft-confirm-title", text: "Below your floor?" }), confirmText,
    el("div", { class: "actions" }, confirmSend, confirmCancel));
  const node = el("section", { id: "draft-box", class: "draft-box", hidden: true, "aria-label": "Draft reply" }, form, dialog);
  let original = "";

  async function send(confirmBelowFloor) {
    if (state.conversationId === null) return;
    const edited = text.value.trim();
    const body = edited && edited !== original ? { text: edited } : {};
    body.draft_id = state.draftId; // refused (409) if the buyer wrote again and a newer draft replaced it
    if (confirmBelowFloor) body.confirm_below_floor = true;
    sendButton.disabled = true;
    const r = await api("conversations/" + encodeURIComponent(state.conversationId) + "/draft/send", { method: "POST", body });
    sendButton.disabled = false;
    if (r.status === 422 && r.body && r.body.code === "below_floor") {
      confirmText.textContent = errorText(r);
      dialog.showModal();
      confirmCancel.focus();
      return;
    }
    if (r.ok && wentOut(r.body)) status(outcome, "Draft sent" + (r.body.tag ? " with the " + r.body.tag + " tag" : ""), false);
    else if (r.ok) status(outcome, "Not sent (" + r.body.status + "): " + (r.body.status_reason || "refused by the Messenger rules"), true);
    else status(out, "Not sent: " + errorText(r), true);
    if (r.ok || (r.body && r.body.code === "draft_stale")) state.draftId = null;
    onChange();
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); send(false); });
  confirmSend.addEventListener("click", () => { dialog.close(); send(true); });
  confirmCancel.addEventListener("click", () => { dialog.close(); text.focus(); });
  discardButton.addEventListener("click", async () => {
    if (state.conversationId === null) return;
    const r = await api("conversations/" + encodeURIComponent(state.conversationId) + "/draft", { method: "DELETE" });
    status(r.ok ? outcome : out, r.ok ? "Draft discarded: nothing was sent." : "Not discarded: " + errorText(r), !r.ok);
    if (r.ok) state.draftId = null;
    onChange();
  });

  function update(c) {
    const draft = c ? c.draft : null;
    if (c && c.id !== state.conversationId) status(out, "", false);
    state.conversationId = c ? c.id : null;
    if (!draft) {
      node.hidden = true;
      state.draftId = null;
      return;
    }
    node.hidden = false;
    if (draft.id === state.draftId) return; // the same draft: keep what the seller is typing
    state.draftId = draft.id;
    original = draft.text;
    text.value = draft.text;
    const parts = ["Not sent yet: send it as it is, edit it, or write your own below."];
    if (draft.action) parts.push("Decision: " + (ACTIONS[draft.action] || draft.action) + (draft.decided_price ? " at " + money(draft.decided_price) : "") + ".");
    hint.textContent = parts.join(" ");
  }

  return { node, update };
}
