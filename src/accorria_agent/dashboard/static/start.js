/* Get started: the onboarding checklist (account → Page → first listing → rules → try the bot → go
 * live), each step checked against the real APIs, and the preview chat (nothing goes to Messenger). */

import { api, errorText, features } from "./api.js";
import { el, status } from "./dom.js";

function step(done, titleText, text, action) {
  return el("li", { class: "step" + (done ? " done" : "") },
    el("span", { class: "step-mark", "aria-hidden": "true", text: done ? "✓" : "•" }),
    el("div", {}, el("h2", {}, titleText, done ? el("span", { class: "visually-hidden", text: " (done)" }) : ""),
      el("p", { class: "hint", text }),
      !done && action ? el("a", { class: "button", href: action.href, text: action.label }) : null));
}

async function preview(view, listingId) {
  const r = await api("listings/" + encodeURIComponent(listingId));
  const name = r.ok ? [r.body.year, r.body.make, r.body.model].join(" ") : "listing " + listingId;
  const log = el("ol", { id: "preview-messages", class: "messages preview", "aria-live": "polite" });
  const input = el("input", { id: "preview-input", name: "text", type: "text", maxlength: "2000", placeholder: "e.g. Is it available? Would you take 15000?" });
  const out = el("p", { id: "preview-status", class: "status", role: "status" });
  const history = [];
  const form = el("form", { id: "preview-form", class: "composer" },
    el("label", { for: "preview-input", class: "visually-hidden", text: "Write as a buyer" }), input,
    el("button", { type: "submit", text: "Send as buyer" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) { status(out, "Write something a buyer would ask.", true); return; }
    history.push(text);
    log.append(el("li", { class: "message from-buyer", text }));
    input.value = "";
    const answer = !(await features()).preview ? { missing: true } : await api("listings/" + encodeURIComponent(listingId) + "/preview", { method: "POST", body: { messages: history } });
    if (answer.missing) { status(out, "The preview is not available on this server yet.", true); return; }
    if (!answer.ok) { status(out, errorText(answer), true); return; }
    status(out, "", false);
    for (const reply of answer.body.replies || []) log.append(el("li", { class: "message from-bot", text: reply }));
  });
  view.append(el("div", { class: "page-header" }, el("h1", { text: "Try the assistant on the " + name }),
    el("a", { href: "#/start", class: "back-link", text: "← Get started" })),
  el("p", { class: "hint", text: "A rehearsal with the real negotiation engine and your rules. Nothing is sent to Messenger or saved." }),
  log, form, out);
}

export async function renderStart(view, params) {
  if (params[0] === "preview" && params[1]) { await preview(view, params[1]); return null; }
  const [me, settings, listings, has] = await Promise.all([api("me"), api("settings"), api("listings"), features()]);
  const pages = settings.ok && Array.isArray(settings.body) ? settings.body : [];
  const cars = listings.ok && Array.isArray(listings.body) ? listings.body : [];
  const live = pages.some((p) => p.bot_enabled) && cars.some((l) => l.status === "active" && l.page_id);
  const rules = cars.some((l) => l.price_floor !== undefined && l.max_concessions !== undefined);
  const first = cars[0];
  view.append(el("div", { class: "page-header" }, el("h1", { text: "Get started" })),
    el("ol", { class: "steps", id: "onboarding" },
      step(me.ok, "Create your account", "Your email and a password; staff join by invitation.", { href: "/auth/", label: "Sign up" }),
      step(pages.length > 0, "Connect your Facebook Page", "The assistant answers buyers who write to this Page.", has.connect ? { href: "/connect/facebook", label: "Connect a Page" } : null),
      step(cars.length > 0, "Add your first listing", "The car, its photos and its asking price.", { href: "#/listings/new", label: "Add a listing" }),
      step(cars.length > 0 && rules, "Set the rules", "Your floor (never shown to buyers), concessions and tone.", first ? { href: "#/listings/" + first.id, label: "Set the rules" } : { href: "#/listings/new", label: "Add a listing" }),
      step(false, "Try the assistant", "Chat as a buyer; nothing is sent to Messenger.", first ? { href: "#/start/preview/" + first.id, label: "Try it" } : null),
      step(live, "Go live", "Turn the assistant on and share the listing's m.me link or QR sign.", { href: "#/settings", label: "Open settings" })));
  return null;
}
