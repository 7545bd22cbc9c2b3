/* The seller dashboard: a tiny hash router over the pages (inbox, listings, settings, analytics,
 * get started). No build step, no framework: ES modules served by the package. */

import { api, onUnauthorized } from "./api.js";
import { connectLive, onLive } from "./live.js";
import { renderInbox } from "./inbox.js";
import { renderListings } from "./listings.js";
import { renderSettings } from "./settings.js";
import { renderAnalytics } from "./analytics.js";
import { renderStart } from "./start.js";

const $ = (id) => document.getElementById(id);
const pages = {
  inbox: renderInbox,
  listings: renderListings,
  settings: renderSettings,
  analytics: renderAnalytics,
  start: renderStart,
};
const session = { me: null, isOwner: false };
let cleanup = null;
let stopped = false;

onUnauthorized(() => {
  stopped = true;
  $("auth-error").hidden = false;
  $("view").hidden = true;
});

async function refreshBadge() {
  const r = await api("notifications?unread=true");
  const badge = $("notification-count");
  const count = r.ok && Array.isArray(r.body) ? r.body.length : 0;
  badge.hidden = count === 0;
  badge.textContent = String(count);
  badge.setAttribute("aria-label", count + " unread notifications");
}

async function route() {
  if (stopped) return;
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "inbox").split("/");
  const render = pages[name] || renderInbox;
  for (const link of document.querySelectorAll(".main-nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (cleanup) { cleanup(); cleanup = null; }
  const view = $("view");
  view.replaceChildren();
  cleanup = (await render(view, rest, session)) || null;
}

async function start() {
  const me = await api("me");
  if (!me.ok) return;
  session.me = me.body;
  session.isOwner = me.body.role === "owner";
  document.body.classList.toggle("is-owner", session.isOwner);
  connectLive($("live-state"));
  onLive((kind) => { if (kind === "notification" || kind === "resync" || kind === "poll") refreshBadge(); });
  window.addEventListener("hashchange", route);
  await route();
  refreshBadge();
  // A first-time seller with nothing set up lands on the checklist instead of an empty inbox.
  if (!location.hash) {
    const settings = await api("settings");
    if (settings.ok && Array.isArray(settings.body) && settings.body.length === 0) location.hash = "#/start";
  }
}

start();
