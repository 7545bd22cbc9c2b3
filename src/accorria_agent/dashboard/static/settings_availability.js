/* Test-drive availability in Settings: the seller's weekly hours (all Pages) and a Page's own override.
 * Hours are typed as "09:00-12:00, 13:00-18:00" per day (empty = no test drives that day); exceptions
 * one a line, "2026-12-24 off" or "2026-12-31 10:00-14:00". The server validates again (overlaps, ranges)
 * and its refusal is shown in words. */

import { api, errorText } from "./api.js";
import { el, status } from "./dom.js";

const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const RANGE = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;
const SOURCES = {
  page: "This Page has its own hours.",
  seller: "This Page uses your hours for all Pages.",
  default: "This Page uses the default hours (you have not set yours yet).",
};

const pad = (h, m) => h.padStart(2, "0") + ":" + m;

/** "09:00-12:00, 13:00-18:00" from [["09:00","12:00"],["13:00","18:00"]]. */
export function formatHours(hours) {
  return (hours || []).map(([start, end]) => start + "-" + end).join(", ");
}

/** The reverse of formatHours; throws an Error whose message says what is wrong. */
export function parseHours(text, where) {
  return String(text || "").split(",").map((part) => part.trim()).filter(Boolean).map((part) => {
    const m = RANGE.exec(part);
    if (!m) throw new Error(where + ': "' + part + '" is not like 09:00-18:00');
    return [pad(m[1], m[2]), pad(m[3], m[4])];
  });
}

function formatExceptions(list) {
  return (list || []).map((e) => e.date + " " + (e.hours.length ? formatHours(e.hours) : "off")).join("\n");
}

function parseExceptions(text) {
  return String(text || "").split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const m = /^(\d{4}-\d{2}-\d{2})\s*(.*)$/.exec(line);
    if (!m) throw new Error('Days off: "' + line + '" does not start with a date like 2026-12-24');
    const rest = m[2].trim().toLowerCase();
    return { date: m[1], hours: rest === "" || rest === "off" || rest === "closed" ? [] : parseHours(rest, m[1]) };
  });
}

function field(id, label, control, hint) {
  return el("div", { class: "field" }, el("label", { for: id, text: label }), control,
    hint ? el("p", { class: "hint", id: id + "-hint", text: hint }) : null);
}

function numberInput(id, name, value, min, max, disabled) {
  return el("input", { id, name, type: "number", min: String(min), max: String(max), value: String(value),
    required: true, disabled });
}

function textInput(id, name, value, maxlength, disabled) {
  return el("input", { id, name, type: "text", value: value || "", maxlength: String(maxlength), disabled });
}

/** The form's fields for availability ``a`` (ids start with ``prefix``). */
function fields(a, prefix, disabled) {
  const days = el("fieldset", { class: "hours" }, el("legend", { text: "Weekly hours (" + a.timezone + ")" }),
    el("p", { class: "hint", text: "Like 09:00-12:00, 13:00-18:00; leave a day empty for no test drives." }),
    ...DAYS.map(([key, label]) => el("div", { class: "field day" },
      el("label", { for: prefix + key, text: label }),
      textInput(prefix + key, "day_" + key, formatHours((a.weekly_hours || {})[key]), 100, disabled))));
  const exceptions = el("textarea", { id: prefix + "exceptions", name: "exceptions", rows: "3", disabled,
    "aria-describedby": prefix + "exceptions-hint" });
  exceptions.value = formatExceptions(a.exceptions);
  return [
    days,
    field(prefix + "exceptions", "Days off and other exceptions", exceptions,
      "One a line: 2026-12-24 off, or 2026-12-31 10:00-14:00."),
    el("div", { class: "field-row" },
      field(prefix + "slot", "Test drive length (minutes)", numberInput(prefix + "slot", "slot_minutes", a.slot_minutes, 15, 240, disabled)),
      field(prefix + "buffer", "Break between test drives (minutes)", numberInput(prefix + "buffer", "buffer_minutes", a.buffer_minutes, 0, 240, disabled)),
      field(prefix + "notice", "Minimum notice (minutes)", numberInput(prefix + "notice", "min_notice_minutes", a.min_notice_minutes, 0, 20160, disabled))),
    field(prefix + "area", "Meeting area (told to buyers when they ask)", textInput(prefix + "area", "place_area", a.place_area, 200, disabled)),
    field(prefix + "address", "Meeting address (sent with a booked test drive)", textInput(prefix + "address", "place_address", a.place_address, 300, disabled)),
  ];
}

/** The PUT body out of a form built by ``fields``; throws an Error with a readable message. */
function readBody(form) {
  const data = new FormData(form);
  const weekly = {};
  for (const [key, label] of DAYS) weekly[key] = parseHours(data.get("day_" + key), label);
  const text = (name) => { const v = String(data.get(name) || "").trim(); return v === "" ? null : v; };
  return {
    weekly_hours: weekly,
    exceptions: parseExceptions(data.get("exceptions")),
    slot_minutes: Number(data.get("slot_minutes")),
    buffer_minutes: Number(data.get("buffer_minutes")),
    min_notice_minutes: Number(data.get("min_notice_minutes")),
    place_area: text("place_area"),
    place_address: text("place_address"),
  };
}

async function save(form, out, path) {
  let body;
  try { body = readBody(form); } catch (error) { status(out, "Not saved: " + error.message, true); return null; }
  const r = await api(path, { method: "PUT", body });
  status(out, r.ok ? "Test-drive hours saved." : "Not saved: " + errorText(r), !r.ok);
  return r.ok ? r.body : null;
}

const ownersOnly = () => el("p", { class: "hint", text: "Only owners change test-drive hours." });

/** The seller's availability, used by every Page without its own; ``onSaved`` runs after a save. */
export async function sellerAvailability(isOwner, onSaved) {
  const section = el("section", { class: "card", "aria-labelledby": "availability-title" },
    el("h2", { id: "availability-title", text: "Test drives: your hours for all Pages" }));
  const r = await api("availability");
  if (!r.ok) {
    section.append(el("p", { class: "status error", role: "status", text: "Test-drive hours are not available: " + errorText(r) }));
    return section;
  }
  const out = el("p", { class: "status", role: "status", id: "availability-status" });
  const form = el("form", { class: "form", id: "availability-form", "aria-labelledby": "availability-title" },
    r.body.is_default ? el("p", { class: "hint", text: "These are the default hours until you save your own." }) : null,
    ...fields(r.body, "availability-", !isOwner),
    isOwner ? el("button", { type: "submit", text: "Save my hours" }) : ownersOnly(), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await save(form, out, "availability")) onSaved();
  });
  section.append(form);
  return section;
}

/** What bookings on Page ``p`` use, and (owners) its own hours or back to the seller's. Returns the
 * section and ``refresh(inheritedOnly)``, which re-reads it (after the seller's hours change, only a Page
 * that inherits them needs it). */
export function pageAvailability(p, isOwner) {
  const prefix = "page-" + p.tenant_id + "-hours-";
  const titleId = prefix + "title";
  const path = "availability/pages/" + encodeURIComponent(p.page_id);
  const title = el("h2", { id: titleId, tabindex: "-1", text: "Test drives on " + p.page_name });
  const section = el("section", { class: "card", "aria-labelledby": titleId }, title);
  let current = null;
  async function refresh(inheritedOnly, note) {
    if (inheritedOnly && current === "page") return;
    const r = await api(path);
    if (!r.ok) {
      section.replaceChildren(title, el("p", { class: "status error", role: "status", text: "Not available: " + errorText(r) }));
      return;
    }
    current = r.body.source;
    const source = el("p", { class: "hint", id: prefix + "source", text: SOURCES[current] || "" });
    const out = el("p", { class: "status", role: "status", id: prefix + "status" });
    const reset = el("button", { type: "button", class: "secondary", id: prefix + "reset", text: "Use my hours for all Pages",
      hidden: current !== "page" });
    const form = el("form", { class: "form", id: prefix + "form", "aria-labelledby": titleId }, source,
      ...fields(r.body, prefix, !isOwner),
      isOwner ? el("div", { class: "actions" }, el("button", { type: "submit", text: "Save as this Page's hours" }), reset) : ownersOnly(),
      out);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const saved = await save(form, out, path);
      if (saved) { current = saved.source; source.textContent = SOURCES[current] || ""; reset.hidden = current !== "page"; }
    });
    reset.addEventListener("click", async () => {
      const d = await api(path, { method: "DELETE" });
      if (!d.ok) { status(out, "Not changed: " + errorText(d), true); return; }
      // Re-read what applies now (the seller's hours); the focus moves to the section's title.
      await refresh(false, "This Page uses your hours for all Pages again.");
      title.focus();
    });
    section.replaceChildren(title, form);
    if (note) status(out, note);
  }
  return { section, refresh };
}
