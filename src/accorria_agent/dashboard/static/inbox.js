/* The inbox: conversation list with filters and search, the thread, the negotiation side panel and the
 * seller's controls (take over, resume, reply, assign). Live: refetches what /api/live names.
 * Search, filters and paging are the server's (GET /api/conversations?q=&needs_me=…&cursor=): the list
 * holds the pages loaded so far, "Load more" follows the X-Next-Cursor header. */

import { api, errorText, features, wentOut } from "./api.js";
import { duration, el, emptyState, money, safeClass, status, when } from "./dom.js";
import { draftBox } from "./drafts.js";
import { alertSeller, alertsEnabled, enableAlerts, onLive } from "./live.js";

const MODE_LABELS = { bot: "bot", copilot: "co-pilot", paused: "paused (you)", handed_off: "handed off" };
const NEEDS_ME_KINDS = new Set(["handoff", "scam", "send_refused", "send_failed", "question", "draft"]);

function buyerName(c) { return c.buyer_name || "Buyer " + c.buyer_psid; }

// A conversation the bot would answer shows "co-pilot" when its Page or listing lets it only draft.
function modeOf(c) { return c.mode === "bot" && c.reply_mode === "copilot" ? "copilot" : c.mode; }

function modeNode(mode) {
  return el("span", { class: "mode mode-" + safeClass(mode), text: MODE_LABELS[mode] || mode });
}

// Pages whose owners enabled the HUMAN_AGENT tag (the 7-day band is shown only for those).
const humanAgentPages = new Set();

function windowText(c) {
  if (c.expires_in > 0) return "window closes in " + duration(c.expires_in);
  if (c.human_agent_expires_in > 0 && humanAgentPages.has(c.tenant_id)) {
    return "24-hour window closed; your reply (HUMAN_AGENT) possible for " + duration(c.human_agent_expires_in);
  }
  return c.last_buyer_message_at ? "window closed" : "the buyer has not written";
}

function isScam(c) { return c.paused_reason === "scam"; }

const PAGE_SIZE = 50;
// GET /api/conversations/{id} returns the latest 200 messages; older ones come from …/messages?before=.
const DETAIL_MESSAGES = 200;
// The server's filter parameter for each choice of the "Show" select.
const FILTER_PARAMS = { needs_me: ["needs_me", "true"], handed_off: ["handed_off", "true"], deals: ["deals", "true"],
  assigned_me: ["assigned", "me"], unassigned: ["assigned", "none"] };

function listQuery(state, limit, cursor) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (FILTER_PARAMS[state.filter]) params.set(...FILTER_PARAMS[state.filter]);
  if (state.listingId) params.set("listing_id", state.listingId);
  if (state.query) params.set("q", state.query);
  if (cursor) params.set("cursor", cursor);
  return "conversations?" + params.toString();
}

function authorLabel(m) {
  if (m.author === "buyer") return "buyer";
  if (m.author === "bot") return "assistant";
  if (m.author === "seller") return "you (dashboard)";
  if (m.author === "page") return "Page Inbox";
  return m.author;
}

function messageNode(m) {
  const item = el("li", {
    class: "message from-" + safeClass(m.author) + " " + safeClass(m.status),
    dataset: { status: m.status, id: String(m.id) },
  });
  const text = m.text || (m.attachment_types.length ? "[" + m.attachment_types.join(", ") + "]" : "");
  item.append(el("div", { class: "text", text }));
  const meta = [authorLabel(m), when(m.sent_at)];
  if (m.direction === "outbound") meta.push(m.status);
  if (m.tag) meta.push("tag " + m.tag);
  item.append(el("div", { class: "meta", text: meta.join(" · ") }));
  if (m.status_reason && ["refused", "failed", "dropped", "held"].includes(m.status)) {
    const prefix = m.status === "held" ? "Held: " : "Not sent: ";
    item.append(el("div", { class: "status-reason", text: prefix + m.status_reason }));
  }
  return item;
}

function row(label, value) {
  return [el("dt", { text: label }), el("dd", { text: value })];
}

function negotiationPanel(c, extras, isOwner) {
  const n = c.negotiation || {};
  const listing = c.listing;
  const items = [];
  if (listing) {
    items.push(...row("Car", listing.title), ...row("Asking", money(listing.asking_price)));
  }
  items.push(...row("Buyer's best offer", money(n.best_offer)));
  items.push(...row("Our last counter", money(n.last_counter)));
  const max = listing && listing.max_concessions !== undefined && listing.max_concessions !== null
    ? listing.max_concessions : "?";
  items.push(...row("Concessions used", (n.concessions_used || 0) + " of " + max));
  items.push(...row("Agreed price", money(n.agreed_price)));
  if (isOwner && listing && listing.price_floor !== null && listing.price_floor !== undefined) {
    const best = n.best_offer !== null && n.best_offer !== undefined ? Number(n.best_offer) : null;
    const floor = Number(listing.price_floor);
    const distance = best === null ? "your floor " + money(floor) + "; no offer yet"
      : (best >= floor ? money(best - floor) + " above your floor" : money(floor - best) + " below your floor");
    items.push(...row("Floor distance (only you see this)", distance));
  }
  items.push(...row("Escrow", extras.deal));
  items.push(...row("Test drive", extras.booking));
  return el("dl", { class: "facts", id: "negotiation" }, items);
}

async function extrasFor(c) {
  const out = { deal: "not started", booking: "none booked", questions: [] };
  const has = await features();
  const none = { ok: false, missing: true, body: null };
  const [deals, bookings] = await Promise.all([has.deals ? api("deals") : none, has.bookings ? api("bookings") : none]);
  if (deals.missing || !deals.ok) out.deal = "not available yet";
  else if (Array.isArray(deals.body)) {
    const deal = deals.body.find((d) => d.conversation_id === c.id);
    if (deal) out.deal = "deal " + deal.status + (deal.escrow ? " · escrow " + deal.escrow.status : "");
  }
  if (bookings.missing || !bookings.ok) out.booking = "not available yet";
  else if (Array.isArray(bookings.body)) {
    const booking = bookings.body.find((b) => b.conversation_id === c.id);
    if (booking) out.booking = booking.status + " · " + (booking.when || when(booking.starts_at));
  }
  if (has.questions) {
    const questions = await api("questions?status=open");
    if (questions.ok && Array.isArray(questions.body)) out.questions = questions.body.filter((q) => q.conversation_id === c.id);
  }
  return out;
}

function questionsPanel(questions, reload) {
  if (!questions.length) return el("p", { class: "hint", text: "No open question from this buyer." });
  return el("ul", { class: "questions" }, questions.map((q) => {
    const id = "answer-" + q.id;
    const input = el("input", { id, name: "answer", type: "text", maxlength: "1000" });
    const out = el("p", { class: "status", role: "status" });
    const form = el("form", { class: "inline-form" }, el("label", { for: id, text: "Your answer" }), input,
      el("button", { type: "submit", class: "small", text: "Answer" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const r = await api("questions/" + encodeURIComponent(q.id) + "/answer", { method: "POST", body: { answer: input.value.trim() } });
      status(out, r.ok ? "Answered: the buyer is told." : "Not sent: " + errorText(r), !r.ok);
      if (r.ok) reload();
    });
    return el("li", { class: "question" }, el("p", { text: q.question }), el("p", { class: "hint", text: q.topic + " · " + when(q.created_at) }), form, out);
  }));
}

export async function renderInbox(view, params, session) {
  const state = {
    conversations: [],
    selected: params[0] ? Number(params[0]) : null,
    filter: "all",
    listingId: "",
    query: "",
    lastDetail: "",
    seenNotifications: null,
    nextCursor: null,
    listToken: 0,
    members: [],
    older: [],
    olderNext: null,
  };
  view.classList.add("inbox-view");

  const filterSelect = el("select", { id: "filter", name: "filter" },
    el("option", { value: "all", text: "All" }),
    el("option", { value: "needs_me", text: "Needs me" }),
    el("option", { value: "handed_off", text: "Handed off" }),
    el("option", { value: "deals", text: "Deals" }),
    el("option", { value: "assigned_me", text: "Assigned to me" }),
    el("option", { value: "unassigned", text: "Unassigned" }));
  const listingSelect = el("select", { id: "listing-filter", name: "listing" }, el("option", { value: "", text: "All listings" }));
  const search = el("input", { id: "search", type: "search", name: "q", placeholder: "Search buyers, cars, messages" });
  const alertButton = el("button", { type: "button", id: "alerts-button", class: "secondary",
    text: alertsEnabled() ? "Alerts on" : "Turn on alerts" });
  alertButton.addEventListener("click", async () => {
    const on = await enableAlerts();
    alertButton.textContent = on ? "Alerts on" : "Alerts unavailable";
  });
  const list = el("ul", { id: "conversation-list", class: "conversation-list" });
  const empty = el("div", { id: "conversation-empty", hidden: true });
  const moreButton = el("button", { type: "button", id: "load-more", class: "secondary", hidden: true, text: "Load more" });
  const sidebar = el("section", { class: "sidebar", "aria-label": "Conversations" },
    el("h1", { class: "pane-title", text: "Inbox" }),
    el("div", { class: "filters" },
      el("label", { for: "filter", class: "visually-hidden", text: "Show" }), filterSelect,
      el("label", { for: "listing-filter", class: "visually-hidden", text: "Listing" }), listingSelect,
      el("label", { for: "search", class: "visually-hidden", text: "Search" }), search,
      alertButton),
    list, empty, moreButton);

  const title = el("h2", { id: "conversation-title", text: "Select a conversation" });
  const modeBox = el("span", { id: "conversation-mode" });
  const windowBox = el("p", { id: "conversation-window", class: "hint" });
  const flags = el("div", { id: "conversation-flags" });
  const assignSelect = el("select", { id: "assign-select", name: "assignee", disabled: true },
    el("option", { value: "", text: "Nobody" }));
  const assignBox = el("div", { class: "assign" }, el("label", { for: "assign-select", text: "Assigned to" }), assignSelect);
  assignBox.hidden = true; // shown with a conversation
  const pauseButton = el("button", { id: "pause-button", type: "button", disabled: true, text: "Take over" });
  const resumeButton = el("button", { id: "resume-button", type: "button", class: "secondary", disabled: true, text: "Resume bot" });
  const back = el("a", { href: "#/inbox", class: "back-link", text: "← All conversations" });
  const earlierButton = el("button", { type: "button", id: "load-earlier", class: "secondary small", hidden: true,
    text: "Load earlier messages" });
  const messages = el("ol", { id: "messages", class: "messages", tabindex: "0", "aria-live": "polite", "aria-label": "Messages" });
  const input = el("textarea", { id: "reply-input", name: "reply", maxlength: "2000", rows: "2", disabled: true,
    placeholder: "Write to the buyer as yourself" });
  const send = el("button", { id: "reply-send", type: "submit", disabled: true, text: "Send" });
  const replyStatus = el("p", { id: "reply-status", class: "status", role: "status" });
  const drafts = draftBox(() => { state.lastDetail = ""; return Promise.all([loadList(), loadDetail()]); }, replyStatus);
  const form = el("form", { id: "reply-form", class: "composer", autocomplete: "off" },
    el("label", { for: "reply-input", class: "visually-hidden", text: "Your reply" }), input, send);
  const thread = el("section", { class: "conversation", "aria-label": "Conversation" },
    el("div", { class: "conversation-header" },
      back,
      el("div", {}, title, modeBox, windowBox, flags, assignBox),
      el("div", { class: "actions" }, pauseButton, resumeButton)),
    earlierButton, messages, drafts.node, form, replyStatus);
  const negotiationBox = el("div", { id: "negotiation-box" }, el("p", { class: "hint", text: "Select a conversation to see the negotiation." }));
  const questionBox = el("div", { id: "question-box" });
  const notificationList = el("ul", { id: "notifications", class: "notifications" });
  const panel = el("aside", { class: "side-panel", "aria-label": "Negotiation" },
    el("h2", { text: "Negotiation" }), negotiationBox, el("h2", { text: "Buyer's questions" }), questionBox,
    el("h2", { text: "All notifications" }), notificationList);
  const layout = el("div", { id: "layout", class: "layout" + (state.selected ? " has-selection" : "") }, sidebar, thread, panel);
  view.append(layout);

  const listingTitles = new Map();
  function renderListingOptions() {
    for (const c of state.conversations) if (c.listing) listingTitles.set(String(c.listing.id), c.listing.title);
    const current = listingSelect.value;
    listingSelect.replaceChildren(el("option", { value: "", text: "All listings" }),
      ...[...listingTitles].map(([id, t]) => el("option", { value: id, text: t })));
    listingSelect.value = listingTitles.has(current) ? current : "";
  }

  function renderList() {
    renderListingOptions();
    const shown = state.conversations;
    list.replaceChildren(...shown.map((c) => {
      const link = el("a", { href: "#/inbox/" + c.id, class: "conversation-link" },
        el("span", { class: "name", text: buyerName(c) }), modeNode(modeOf(c)),
        c.has_draft ? el("span", { class: "badge draft", text: "draft waits" }) : null,
        c.unread_notifications > 0 ? el("span", { class: "badge unread", text: c.unread_notifications,
          "aria-label": c.unread_notifications + " unread" }) : null,
        isScam(c) ? el("span", { class: "flag scam", text: "possible scam" }) : null,
        c.assignee ? el("span", { class: "assignee hint", text: "→ " + c.assignee.name }) : null,
        el("span", { class: "window hint", text: windowText(c) }),
        c.listing ? el("span", { class: "hint listing", text: c.listing.title }) : null,
        el("span", { class: "preview", text: c.last_message ? authorLabel(c.last_message) + ": " + (c.last_message.text || "(no text)") : "" }));
      return el("li", { class: "conversation-item" + (c.id === state.selected ? " selected" : ""), dataset: { id: String(c.id) } }, link);
    }));
    empty.hidden = shown.length > 0;
    moreButton.hidden = !state.nextCursor;
    const filtered = state.filter !== "all" || state.listingId || state.query;
    if (state.conversations.length === 0 && !filtered) {
      empty.replaceChildren(emptyState("No conversations yet",
        "Buyers appear here as soon as they write to your Page. Share your listing's m.me link or QR sign to get the first one.",
        { href: "#/listings", label: "Open your listings" }));
    } else {
      empty.replaceChildren(el("p", { class: "hint", text: "No conversation matches these filters." }));
    }
  }

  // Reloads what is shown (at least one page, as many rows as already loaded): a live update keeps the
  // seller's place; an answer that arrives after a newer request (typing fast) is ignored.
  async function loadList() {
    const token = ++state.listToken;
    const limit = Math.min(500, Math.max(PAGE_SIZE, state.conversations.length));
    const r = await api(listQuery(state, limit, null));
    if (token !== state.listToken || !r.ok || !Array.isArray(r.body)) return;
    state.conversations = r.body;
    state.nextCursor = r.headers.get("X-Next-Cursor");
    renderList();
  }

  async function loadMore() {
    if (!state.nextCursor) return;
    const token = ++state.listToken;
    moreButton.disabled = true;
    const r = await api(listQuery(state, PAGE_SIZE, state.nextCursor));
    moreButton.disabled = false;
    if (token !== state.listToken || !r.ok || !Array.isArray(r.body)) return;
    const known = new Set(state.conversations.map((c) => c.id));
    state.conversations = state.conversations.concat(r.body.filter((c) => !known.has(c.id)));
    state.nextCursor = r.headers.get("X-Next-Cursor");
    renderList();
  }

  function restartList() {
    state.conversations = [];
    state.nextCursor = null;
    loadList();
  }

  async function loadMembers() {
    const r = await api("members");
    if (!r.ok || !Array.isArray(r.body)) return;
    state.members = r.body;
    assignSelect.replaceChildren(el("option", { value: "", text: "Nobody" }),
      ...r.body.map((m) => el("option", { value: String(m.member_id), text: m.name + " (" + m.role + ")" })));
  }

  function renderDetail(c, extras) {
    const json = JSON.stringify([c, extras]);
    if (json === state.lastDetail) return; // unchanged: keep the scroll position
    state.lastDetail = json;
    title.textContent = buyerName(c) + " — " + c.page_name;
    modeBox.replaceChildren(modeNode(modeOf(c)));
    windowBox.textContent = windowText(c) + (c.paused_reason && !isScam(c) ? " · " + c.paused_reason : "");
    const scamNotes = c.notifications.filter((n) => n.kind === "scam");
    flags.replaceChildren(...(isScam(c) || scamNotes.length ? [el("p", { class: "flag scam",
      text: "Possible scam: " + (scamNotes.map((n) => n.text).join(" ") || "the assistant stopped on scam signals") })] : []));
    assignBox.hidden = false;
    assignSelect.disabled = false;
    assignSelect.value = c.assignee ? String(c.assignee.member_id) : "";
    pauseButton.disabled = c.mode === "paused";
    resumeButton.disabled = c.mode === "bot";
    input.disabled = false;
    send.disabled = false;
    const atBottom = messages.scrollTop + messages.clientHeight >= messages.scrollHeight - 20;
    // Older pages stay shown under the detail's latest 200 (which slide forward as buyers write; the
    // detail's copy of a message wins, so its delivery status stays current).
    const latestIds = new Set(c.messages.map((m) => m.id));
    const thread = state.older.filter((m) => !latestIds.has(m.id)).concat(c.messages);
    messages.replaceChildren(...thread.map(messageNode));
    earlierButton.hidden = state.older.length ? state.olderNext === null : c.messages.length < DETAIL_MESSAGES;
    if (atBottom) messages.scrollTop = messages.scrollHeight;
    drafts.update(c);
    negotiationBox.replaceChildren(negotiationPanel(c, extras, session.isOwner));
    questionBox.replaceChildren(questionsPanel(extras.questions, () => { state.lastDetail = ""; loadDetail(); }));
  }

  let lastShown = null;
  async function loadDetail() {
    if (state.selected === null) return;
    const r = await api("conversations/" + encodeURIComponent(state.selected));
    if (r.status === 404) {
      title.textContent = "Conversation not found";
      return;
    }
    if (r.ok) {
      lastShown = r.body;
      renderDetail(r.body, await extrasFor(r.body));
    }
  }

  async function loadNotifications() {
    const r = await api("notifications");
    if (!r.ok || !Array.isArray(r.body)) return;
    const box = notificationList;
    if (state.seenNotifications !== null) {
      const fresh = r.body.filter((n) => !state.seenNotifications.has(n.id) && !n.read_at && NEEDS_ME_KINDS.has(n.kind));
      if (fresh.length) alertSeller(fresh[0].text);
    }
    state.seenNotifications = new Set(r.body.map((n) => n.id));
    if (r.body.length === 0) {
      box.replaceChildren(el("li", { class: "hint", text: "Nothing needs you right now." }));
      return;
    }
    box.replaceChildren(...r.body.slice(0, 30).map((n) => {
      const item = el("li", { class: "notification" + (n.read_at ? "" : " unread") },
        el("p", { text: n.text }), el("p", { class: "hint", text: n.kind + " · " + when(n.created_at) }));
      if (n.conversation_id !== null) item.append(el("a", { href: "#/inbox/" + n.conversation_id, text: "Open" }), " ");
      if (!n.read_at) {
        item.append(el("button", { type: "button", class: "small secondary", text: "Mark read", onclick: async () => {
          await api("notifications/" + encodeURIComponent(n.id) + "/read", { method: "POST" });
          loadNotifications();
          loadList();
        } }));
      }
      return item;
    }));
  }

  async function act(action) {
    if (state.selected === null) return;
    const r = await api("conversations/" + encodeURIComponent(state.selected) + "/" + action, { method: "POST" });
    status(replyStatus, r.ok ? (action === "pause" ? "You took over: the bot is paused for this buyer."
      : "Bot resumed for this buyer.") : errorText(r, "Could not " + action), !r.ok);
    await Promise.all([loadList(), loadDetail()]);
  }

  async function sendReply(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || state.selected === null) {
      status(replyStatus, "Write a message first.", true);
      return;
    }
    send.disabled = true;
    const r = await api("conversations/" + encodeURIComponent(state.selected) + "/messages", { method: "POST", body: { text } });
    if (r.ok && wentOut(r.body)) {
      input.value = "";
      status(replyStatus, "Sent" + (r.body.tag ? " with the " + r.body.tag + " tag" : ""), false);
    } else if (r.ok) {
      status(replyStatus, "Not sent (" + r.body.status + "): " + (r.body.status_reason || "refused by the Messenger rules"), true);
    } else {
      status(replyStatus, "Not sent: " + errorText(r, "the message must be 1 to 2,000 characters"), true);
    }
    send.disabled = false;
    await Promise.all([loadList(), loadDetail()]);
  }

  async function assignTo() {
    if (state.selected === null) return;
    const memberId = assignSelect.value ? Number(assignSelect.value) : null;
    const r = await api("conversations/" + encodeURIComponent(state.selected) + "/assign",
      { method: "POST", body: { member_id: memberId } });
    const who = memberId === null ? "nobody" : (state.members.find((m) => m.member_id === memberId) || {}).name;
    status(replyStatus, r.ok ? "Assigned to " + who + "." : errorText(r, "Could not assign"), !r.ok);
    await Promise.all([loadList(), loadDetail()]);
  }

  async function loadEarlier() {
    if (state.selected === null || !lastShown) return;
    const before = state.older.length ? state.olderNext : (lastShown.messages[0] || {}).id;
    if (!before) return;
    const r = await api("conversations/" + encodeURIComponent(state.selected) + "/messages?limit=100&before=" +
      encodeURIComponent(before));
    if (!r.ok || !r.body || !Array.isArray(r.body.messages)) return;
    const height = messages.scrollHeight;
    // Keep what is shown now too: the detail's window moves on as new messages arrive.
    const shown = new Set(state.older.map((m) => m.id));
    state.older = r.body.messages.concat(state.older, lastShown.messages.filter((m) => !shown.has(m.id)));
    state.olderNext = r.body.next_before;
    state.lastDetail = "";
    await loadDetail();
    messages.scrollTop += messages.scrollHeight - height; // keep the message the seller was reading in view
  }

  let searchTimer = null;
  earlierButton.addEventListener("click", loadEarlier);
  pauseButton.addEventListener("click", () => act("pause"));
  assignSelect.addEventListener("change", assignTo);
  moreButton.addEventListener("click", loadMore);
  resumeButton.addEventListener("click", () => act("resume"));
  form.addEventListener("submit", sendReply);
  filterSelect.addEventListener("change", () => { state.filter = filterSelect.value; restartList(); });
  listingSelect.addEventListener("change", () => { state.listingId = listingSelect.value; restartList(); });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.query = search.value.trim(); restartList(); }, 250);
  });

  const off = onLive((kind, data) => {
    if (kind === "message" || kind === "conversation" || kind === "resync" || kind === "poll") {
      loadList();
      if (kind === "resync" || kind === "poll" || data.conversation_id === state.selected ||
        data.conversation_id === null || data.conversation_id === undefined) loadDetail();
    }
    if (kind === "notification") {
      loadNotifications();
      loadList();
      if (data.conversation_id === state.selected) loadDetail();
    }
    if (kind === "resync" || kind === "poll") loadNotifications();
  });
  const pageSettings = await api("settings");
  humanAgentPages.clear();
  if (pageSettings.ok && Array.isArray(pageSettings.body)) {
    for (const p of pageSettings.body) if (p.human_agent_tag_enabled) humanAgentPages.add(p.tenant_id);
  }
  const listings = await api("listings");
  if (listings.ok && Array.isArray(listings.body)) {
    for (const l of listings.body) listingTitles.set(String(l.id), [l.year, l.make, l.model, l.trim].filter(Boolean).join(" "));
  }
  // The assignee select needs the members before a thread is shown.
  await Promise.all([loadList(), loadMembers(), loadNotifications()]);
  await loadDetail();
  if (state.selected !== null) input.focus({ preventScroll: true });
  return off;
}
