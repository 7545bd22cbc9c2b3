/* Listings: the list, a create/edit form with the server's validation messages, photo upload, archive,
 * and each listing's m.me link, QR code and printable sign. Owners alone see the price-rule fields. */

import { api, errorText } from "./api.js";
import { el, emptyState, money, status } from "./dom.js";

const CAR_FIELDS = [
  ["year", "Year", "number", { min: 1900, max: 2100, required: true }],
  ["make", "Make", "text", { required: true, maxlength: 64 }],
  ["model", "Model", "text", { required: true, maxlength: 64 }],
  ["trim", "Trim", "text", { maxlength: 64 }],
  ["mileage", "Mileage", "number", { min: 0 }],
  ["vin", "VIN (17 characters)", "text", { maxlength: 17, pattern: "[A-HJ-NPR-Z0-9]{17}" }],
  ["location", "Location", "text", { maxlength: 200 }],
  ["asking_price", "Asking price ($)", "number", { min: 1, step: "0.01", required: true }],
];
const OWNER_FIELDS = [
  ["price_floor", "Floor — the lowest price you accept ($, never shown to buyers)", "number", { min: 1, step: "0.01", required: true }],
  ["auto_accept_threshold", "Auto-accept at or above ($, optional)", "number", { min: 1, step: "0.01" }],
  ["max_concessions", "Maximum concessions", "number", { min: 0, max: 10 }],
];
const NUMBERS = new Set(["year", "mileage", "max_concessions"]);

function field(name, label, type, attrs, value) {
  const id = "listing-" + name.replace(/_/g, "-");
  const input = el("input", { id, name, type, ...attrs, value: value === null || value === undefined ? "" : String(value) });
  return el("div", { class: "field" }, el("label", { for: id, text: label }), input);
}

function title(l) { return [l.year, l.make, l.model, l.trim].filter(Boolean).join(" "); }

function readForm(form, isOwner, isNew) {
  const body = {};
  const data = new FormData(form);
  const names = CAR_FIELDS.map((f) => f[0]).concat(isOwner ? OWNER_FIELDS.map((f) => f[0]) : []);
  for (const name of names) {
    const raw = String(data.get(name) || "").trim();
    if (raw === "") {
      if (!isNew) body[name] = null;
      continue;
    }
    body[name] = NUMBERS.has(name) ? Number(raw) : raw;
  }
  body.features = String(data.get("features") || "").split(",").map((s) => s.trim()).filter(Boolean);
  body.description = String(data.get("description") || "").trim() || null;
  body.response_tone = String(data.get("response_tone") || "friendly");
  const pageId = String(data.get("page_id") || "");
  if (pageId) body.page_id = pageId;
  if (isOwner) body.escrow_enabled = data.get("escrow_enabled") === "on";
  // Who answers this car's buyers; empty = as its Page's settings say (set once the listing exists).
  if (isOwner && !isNew) body.reply_mode = String(data.get("reply_mode") || "") || null;
  if (!isNew) {
    // A PATCH may not null what the API requires; leave those out instead.
    for (const name of ["year", "make", "model", "asking_price", "price_floor", "max_concessions"]) {
      if (body[name] === null) delete body[name];
    }
  }
  return body;
}

async function listView(view, session) {
  const r = await api("listings");
  const header = el("div", { class: "page-header" }, el("h1", { text: "Listings" }),
    session.isOwner ? el("a", { class: "button", href: "#/listings/new", text: "Add a listing" }) : null);
  view.append(header);
  if (r.missing || !r.ok) {
    view.append(emptyState("Listings are not available", errorText(r, "The listings service did not answer."), null));
    return;
  }
  if (r.body.length === 0) {
    view.append(emptyState("No listings yet", session.isOwner
      ? "Add your first car: its asking price and your floor are all the assistant needs to start negotiating."
      : "An owner of this account adds the cars; ask them to add the first listing.",
    session.isOwner ? { href: "#/listings/new", label: "Add your first listing" } : null));
    return;
  }
  view.append(el("ul", { class: "cards", id: "listing-list" }, r.body.map((l) => el("li", { class: "card listing-card" },
    l.photos.length ? el("img", { src: l.photos[0].thumb_url, alt: "Photo of the " + title(l), width: "96", height: "72" }) : null,
    el("div", {},
      el("h2", {}, el("a", { href: "#/listings/" + l.id, text: title(l) })),
      el("p", { text: "Asking " + money(l.asking_price) + (session.isOwner && l.price_floor ? " · floor " + money(l.price_floor) : "") }),
      el("p", { class: "hint", text: l.status + (l.location ? " · " + l.location : "") }))))));
}

async function formView(view, id, session) {
  const isNew = id === "new";
  let listing = {};
  if (!isNew) {
    const r = await api("listings/" + encodeURIComponent(id));
    if (!r.ok) {
      view.append(emptyState("Listing not found", "It may have been removed.", { href: "#/listings", label: "Back to listings" }));
      return;
    }
    listing = r.body;
  }
  if (isNew && !session.isOwner) {
    view.append(emptyState("Owners add listings", "Ask an owner of this account to add the car.", { href: "#/listings", label: "Back to listings" }));
    return;
  }
  const formStatus = el("p", { id: "listing-status", class: "status", role: "status" });
  const pagesAnswer = await api("settings");
  const pages = pagesAnswer.ok && Array.isArray(pagesAnswer.body) ? pagesAnswer.body : [];
  const current = listing.page_id || (isNew && pages.length ? pages[0].page_id : "");
  const pageSelect = el("select", { id: "listing-page", name: "page_id" },
    el("option", { value: "", text: "No Page yet" }),
    pages.map((p) => el("option", { value: p.page_id, text: p.page_name, selected: p.page_id === current })));
  const tone = el("select", { id: "listing-tone", name: "response_tone" },
    ["friendly", "professional", "casual"].map((t) => el("option", { value: t, text: t, selected: (listing.response_tone || "friendly") === t })));
  const form = el("form", { id: "listing-form", class: "form", novalidate: true },
    el("fieldset", {}, el("legend", { text: "The car" }),
      CAR_FIELDS.map(([n, l, t, a]) => field(n, l, t, a, listing[n])),
      el("div", { class: "field" }, el("label", { for: "listing-features", text: "Features (comma-separated)" }),
        el("input", { id: "listing-features", name: "features", type: "text", value: (listing.features || []).join(", ") })),
      el("div", { class: "field" }, el("label", { for: "listing-description", text: "Description" }),
        (() => { const t = el("textarea", { id: "listing-description", name: "description", rows: "4", maxlength: "5000" }); t.value = listing.description || ""; return t; })())),
    el("fieldset", {}, el("legend", { text: "How the assistant sells it" }),
      el("div", { class: "field" }, el("label", { for: "listing-page", text: "Facebook Page buyers write to" }), pageSelect),
      el("div", { class: "field" }, el("label", { for: "listing-tone", text: "Tone" }), tone),
      session.isOwner ? [
        OWNER_FIELDS.map(([n, l, t, a]) => field(n, l, t, a, n === "max_concessions" && isNew ? 3 : listing[n])),
        el("div", { class: "field checkbox" }, el("input", { id: "listing-escrow", name: "escrow_enabled", type: "checkbox",
          checked: listing.escrow_enabled !== false }), el("label", { for: "listing-escrow", text: "Offer Accorria escrow once a price is agreed" })),
        isNew ? null : el("div", { class: "field" }, el("label", { for: "listing-reply-mode", text: "Who answers this car's buyers" }),
          el("select", { id: "listing-reply-mode", name: "reply_mode" },
            [["", "As the Page's settings say"], ["bot", "The assistant answers"], ["copilot", "Co-pilot: the assistant drafts, I send"],
              ["off", "Nobody (the assistant is off)"]].map(([v, t]) => el("option", { value: v, text: t, selected: (listing.reply_mode || "") === v })))),
      ] : el("p", { class: "hint", text: "The price rules (floor, auto-accept, concessions) are visible to owners only." })),
    el("div", { class: "actions" }, el("button", { type: "submit", text: isNew ? "Create listing" : "Save changes" }),
      el("a", { href: "#/listings", class: "button secondary", text: "Cancel" })),
    formStatus);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = readForm(form, session.isOwner, isNew);
    const r = await api(isNew ? "listings" : "listings/" + encodeURIComponent(id), { method: isNew ? "POST" : "PATCH", body });
    if (r.ok) {
      status(formStatus, "Saved.", false);
      if (isNew) location.hash = "#/listings/" + r.body.id;
    } else {
      status(formStatus, "Not saved: " + errorText(r), true);
    }
  });
  view.append(el("div", { class: "page-header" }, el("h1", { text: isNew ? "Add a listing" : title(listing) }),
    el("a", { href: "#/listings", class: "back-link", text: "← Listings" })), form);
  if (!isNew) view.append(extras(listing));
}

function extras(listing) {
  const photoStatus = el("p", { id: "photo-status", class: "status", role: "status" });
  const file = el("input", { id: "photo-file", name: "file", type: "file", accept: "image/jpeg,image/png,image/webp" });
  const upload = el("form", { id: "photo-form", class: "inline-form" },
    el("label", { for: "photo-file", text: "Add a photo (JPEG, PNG or WebP)" }), file,
    el("button", { type: "submit", text: "Upload" }));
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!file.files.length) { status(photoStatus, "Choose a photo first.", true); return; }
    const data = new FormData();
    data.append("file", file.files[0]);
    const r = await api("listings/" + listing.id + "/photos", { method: "POST", body: data });
    status(photoStatus, r.ok ? "Photo added." : "Not added: " + errorText(r), !r.ok);
    if (r.ok) window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  const archived = listing.status === "archived";
  const archive = el("button", { type: "button", class: "secondary", id: "archive-button", text: archived ? "Unarchive" : "Archive" });
  archive.addEventListener("click", async () => {
    const r = await api("listings/" + listing.id + (archived ? "/unarchive" : "/archive"), { method: "POST" });
    status(photoStatus, r.ok ? (archived ? "Listing is back." : "Listing archived.") : errorText(r), !r.ok);
    if (r.ok) window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  const sold = el("button", { type: "button", class: "secondary", id: "sold-button", text: "Mark sold",
    disabled: listing.status === "sold" || archived });
  sold.addEventListener("click", async () => {
    if (!window.confirm("Mark this car as sold? The assistant stops offering it.")) return;
    const r = await api("listings/" + listing.id + "/sold", { method: "POST", body: {} });
    status(photoStatus, r.ok ? "Marked sold." : (r.missing ? "Marking sold is not available on this server." : errorText(r)), !r.ok);
    if (r.ok) window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
  return el("section", { class: "card", "aria-label": "Photos and sharing" },
    el("h2", { text: "Photos" }),
    el("ul", { class: "photos" }, listing.photos.map((p) => el("li", {}, el("img", { src: p.thumb_url, alt: "Photo " + (p.position + 1), width: "120", height: "90" })))),
    upload, photoStatus,
    el("h2", { text: "Share" }),
    listing.m_me_url ? [
      el("p", {}, "Buyers write to you from ", el("a", { href: listing.m_me_url, text: listing.m_me_url, class: "break" })),
      el("img", { src: "/api/listings/" + listing.id + "/qr.svg", alt: "QR code of the listing's Messenger link", width: "160", height: "160", class: "qr" }),
      el("p", {}, el("a", { href: "/listings/" + listing.id + "/sign", target: "_blank", rel: "noopener", text: "Print a windshield sign" })),
    ] : el("p", { class: "hint", text: "Connect a Page and choose it for this listing to get its m.me link and QR code." }),
    el("h2", { text: "Try the assistant" }),
    el("p", {}, el("a", { href: "#/start/preview/" + listing.id, text: "Preview a chat with a buyer (nothing is sent)" })),
    el("div", { class: "actions" }, archive, sold));
}

export async function renderListings(view, params, session) {
  if (params[0]) await formView(view, params[0], session);
  else await listView(view, session);
  return null;
}
