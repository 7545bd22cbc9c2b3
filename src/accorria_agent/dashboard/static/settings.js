/* Settings. Per Page: who answers (bot / co-pilot / off), tone note, disclosure text, auto-resume,
 * HUMAN_AGENT opt-in, its send limits (read-only) and its test-drive hours; then the seller's hours for all
 * Pages and the account (settings_account.js). Owners change them; staff see them, forms disabled. */

import { api, errorText } from "./api.js";
import { el, emptyState, status } from "./dom.js";
import { pageAvailability, sellerAvailability } from "./settings_availability.js";
import { accountSections } from "./settings_account.js";

const REPLY_MODES = [
  ["bot", "The assistant answers"],
  ["copilot", "Co-pilot: the assistant drafts, I send"],
  ["off", "Nobody (the assistant is off)"],
];

function rateLimits(p) {
  if (p.rate_limit_per_minute === null || p.rate_limit_per_minute === undefined) return null;
  const n = (v) => Number(v).toLocaleString("en-US");
  return el("div", {},
    el("h3", { text: "Send limits of this Page" }),
    el("dl", { class: "facts" },
      el("dt", { text: "Messages per minute" }), el("dd", { text: n(p.rate_limit_per_minute) }),
      el("dt", { text: "Per hour" }), el("dd", { text: n(p.rate_limit_per_hour) }),
      el("dt", { text: "Per day" }), el("dd", { text: n(p.rate_limit_per_day) })),
    el("p", { class: "hint", text: "Set by the operator from Facebook's limits; replies over them wait their turn." }));
}

function pageForm(p, isOwner) {
  const prefix = "page-" + p.tenant_id + "-";
  const out = el("p", { class: "status", role: "status", id: prefix + "status" });
  const check = (name, label) => el("div", { class: "field checkbox" },
    el("input", { id: prefix + name, name, type: "checkbox", checked: Boolean(p[name]), disabled: !isOwner }),
    el("label", { for: prefix + name, text: label }));
  const disclosure = el("textarea", { id: prefix + "disclosure", name: "disclosure_text", rows: "2", maxlength: "500", disabled: !isOwner });
  disclosure.value = p.disclosure_text;
  const form = el("form", { class: "form card", "aria-label": "Settings of " + p.page_name },
    el("h2", { text: p.page_name }),
    el("p", { class: "hint", text: "Page " + p.page_id + " · " + p.page_status }),
    el("div", { class: "field" }, el("label", { for: prefix + "reply-mode", text: "Who answers buyers on this Page" }),
      el("select", { id: prefix + "reply-mode", name: "reply_mode", disabled: !isOwner },
        ...REPLY_MODES.map(([value, label]) => el("option", { value, text: label, selected: p.reply_mode === value })))),
    check("human_agent_tag_enabled", "Allow my own replies up to 7 days after the buyer's last message (HUMAN_AGENT tag)"),
    el("div", { class: "field" }, el("label", { for: prefix + "auto-resume", text: "Resume the bot after I stop answering (minutes; empty = never)" }),
      el("input", { id: prefix + "auto-resume", name: "auto_resume_minutes", type: "number", min: "1", max: "10080",
        value: p.auto_resume_minutes === null ? "" : String(p.auto_resume_minutes), disabled: !isOwner })),
    el("div", { class: "field" }, el("label", { for: prefix + "disclosure", text: "Automation disclosure (opens the assistant's first message)" }), disclosure),
    el("p", { class: "hint", text: "The tone is set per listing (Listings → edit)." }),
    rateLimits(p),
    isOwner ? el("button", { type: "submit", text: "Save" }) : el("p", { class: "hint", text: "Only owners change settings." }),
    out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const minutes = String(data.get("auto_resume_minutes") || "").trim();
    const body = {
      reply_mode: String(data.get("reply_mode") || "bot"),
      human_agent_tag_enabled: data.get("human_agent_tag_enabled") === "on",
      auto_resume_minutes: minutes === "" ? null : Number(minutes),
      disclosure_text: String(data.get("disclosure_text") || ""),
    };
    const r = await api("settings/" + encodeURIComponent(p.tenant_id), { method: "PATCH", body });
    status(out, r.ok ? "Settings saved." : "Not saved: " + errorText(r), !r.ok);
  });
  return form;
}

export async function renderSettings(view, _params, session) {
  view.append(el("div", { class: "page-header" }, el("h1", { text: "Settings" })));
  if (!session.isOwner) view.append(el("p", { class: "hint", text: "You are staff: you see the settings; owners change them." }));
  const r = await api("settings");
  if (!r.ok || !Array.isArray(r.body)) {
    view.append(emptyState("Settings are not available", errorText(r), null));
  } else if (r.body.length === 0) {
    view.append(emptyState("No Page connected", "Connect your Facebook Page first; its assistant settings appear here.",
      { href: "/connect/facebook", label: "Connect a Facebook Page" }));
  }
  const pageHours = [];
  if (r.ok && Array.isArray(r.body)) {
    for (const p of r.body) {
      const hours = pageAvailability(p, session.isOwner);
      await hours.refresh(false);
      pageHours.push(hours);
      view.append(pageForm(p, session.isOwner), hours.section);
    }
  }
  // A Page that inherits the seller's hours shows the new ones as soon as they are saved.
  const refreshPages = () => pageHours.forEach((hours) => hours.refresh(true));
  view.append(await sellerAvailability(session.isOwner, refreshPages), ...(await accountSections(session)));
  return null;
}
