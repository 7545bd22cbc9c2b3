/* Settings of the account: members and roles (owners invite, change roles, remove; staff see the list),
 * the signed-in member's email notifications, the data export and the account's deletion (owners). */

import { api, errorText } from "./api.js";
import { el, status, when } from "./dom.js";

const KIND_LABELS = {
  handoff: "A buyer needs me (hand-off)",
  scam: "A conversation looks like a scam",
  send_refused: "A message was refused (24-hour window, price guard)",
  send_failed: "A message could not be delivered",
  needs_reauth: "Facebook needs me to reconnect a Page",
  restricted: "A Page is restricted by Facebook",
  paused: "The assistant paused a conversation",
  booking: "Test drives booked, moved or cancelled",
  deal: "A price was agreed",
  escrow: "Escrow (payment) updates",
};
const MODES = [["immediate", "At once, one email each"], ["digest", "One email a day (digest)"], ["off", "No email"]];
const DELETE_PHRASE = "DELETE MY ACCOUNT";

function card(id, title, ...children) {
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id, text: title }), ...children);
}

function memberRow(m, session, reload) {
  const mine = session.me && session.me.member && session.me.member.id === m.member_id;
  const out = el("p", { class: "status", role: "status" });
  const who = el("p", { class: "member-name" }, el("strong", { text: m.name || m.email }), mine ? " (you)" : "",
    el("br"), el("span", { class: "hint", text: m.email + (m.email_verified ? "" : " · email not verified") }));
  if (!session.isOwner) {
    return el("li", { class: "member", dataset: { member: String(m.member_id) } }, who,
      el("p", { class: "hint", text: m.role === "owner" ? "Owner" : "Staff" }));
  }
  const selectId = "member-" + m.member_id + "-role";
  const select = el("select", { id: selectId, name: "role" },
    el("option", { value: "owner", text: "Owner (changes everything)", selected: m.role === "owner" }),
    el("option", { value: "staff", text: "Staff (answers buyers)", selected: m.role === "staff" }));
  const form = el("form", { class: "inline-form", "aria-label": "Role of " + (m.name || m.email) },
    el("label", { for: selectId, text: "Role" }), select,
    el("button", { type: "submit", class: "small", text: "Change role" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const r = await api("members/" + m.member_id, { method: "PATCH", body: { role: select.value } });
    status(out, r.ok ? "Role changed." : "Not changed: " + errorText(r), !r.ok);
  });
  let armed = false;
  const remove = el("button", { type: "button", class: "small danger", text: "Remove" });
  remove.addEventListener("click", async () => {
    if (!armed) {  // the explicit second click: removing a member ends their sessions at once
      armed = true;
      remove.textContent = "Click again to remove " + (m.name || m.email);
      return;
    }
    const r = await api("members/" + m.member_id, { method: "DELETE" });
    if (r.ok) { reload(); return; }
    armed = false;
    remove.textContent = "Remove";
    status(out, "Not removed: " + errorText(r), true);
  });
  // An owner does not remove themselves from this list (another owner can; the last owner cannot at all).
  return el("li", { class: "member", dataset: { member: String(m.member_id) } }, who,
    el("div", { class: "actions" }, form, mine ? null : remove), out);
}

async function members(session) {
  const section = card("members-title", "Members and roles");
  const list = el("ul", { class: "members", id: "members" });
  const listStatus = el("p", { class: "status", role: "status" });
  const reload = async () => {
    const r = await api("members");
    if (!r.ok || !Array.isArray(r.body)) { status(listStatus, "Members are not available: " + errorText(r), true); return; }
    list.replaceChildren(...r.body.map((m) => memberRow(m, session, reload)));
  };
  await reload();
  section.append(list, listStatus);
  if (!session.isOwner) {
    section.append(el("p", { class: "hint", text: "Only owners invite, change roles or remove members." }));
    return section;
  }
  const out = el("p", { class: "status", role: "status", id: "invite-status" });
  const email = el("input", { id: "invite-email", name: "email", type: "email", required: true, maxlength: "254", autocomplete: "off" });
  const role = el("select", { id: "invite-role", name: "role" },
    el("option", { value: "staff", text: "Staff (answers buyers)" }), el("option", { value: "owner", text: "Owner" }));
  const form = el("form", { class: "form", id: "invite-form", "aria-label": "Invite a member" },
    el("h3", { text: "Invite a member" }),
    el("div", { class: "field" }, el("label", { for: "invite-email", text: "Their email" }), email),
    el("div", { class: "field" }, el("label", { for: "invite-role", text: "Role" }), role),
    el("button", { type: "submit", text: "Send the invitation" }), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const r = await api("members/invitations", { method: "POST", body: { email: email.value.trim(), role: role.value } });
    status(out, r.ok ? "Invitation sent to " + r.body.email + " (" + r.body.role + "), valid until " + when(r.body.expires_at) + "."
      : "Not sent: " + errorText(r), !r.ok);
    if (r.ok) email.value = "";
  });
  section.append(form);
  return section;
}

async function notifications() {
  const section = card("notify-title", "My email notifications");
  const r = await api("notification-preferences");
  if (!r.ok) {
    section.append(el("p", { class: "status error", role: "status", text: "Not available: " + errorText(r) }));
    return section;
  }
  const p = r.body;
  const chosen = new Set(p.email_kinds);
  const out = el("p", { class: "status", role: "status", id: "notify-status" });
  const form = el("form", { class: "form", id: "notify-form", "aria-labelledby": "notify-title" },
    el("p", { class: "hint", text: "These are yours only; every member chooses their own." }),
    el("fieldset", {}, el("legend", { text: "How" }),
      ...MODES.map(([value, label]) => el("div", { class: "field checkbox" },
        el("input", { type: "radio", name: "email_mode", id: "notify-mode-" + value, value, checked: p.email_mode === value }),
        el("label", { for: "notify-mode-" + value, text: label })))),
    el("fieldset", {}, el("legend", { text: "Email me when" }),
      ...p.available_kinds.map((kind) => el("div", { class: "field checkbox" },
        el("input", { type: "checkbox", name: "email_kinds", id: "notify-kind-" + kind, value: kind, checked: chosen.has(kind) }),
        el("label", { for: "notify-kind-" + kind, text: KIND_LABELS[kind] || kind })))),
    el("button", { type: "submit", text: "Save my notifications" }), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { email_mode: String(data.get("email_mode") || "immediate"), email_kinds: data.getAll("email_kinds").map(String) };
    const saved = await api("notification-preferences", { method: "PUT", body });
    status(out, saved.ok ? "Notifications saved." : "Not saved: " + errorText(saved), !saved.ok);
  });
  section.append(form);
  return section;
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function data(session) {
  const section = card("data-title", "My data");
  if (!session.isOwner) {
    section.append(el("p", { class: "hint", text: "Only owners export or delete the account's data." }));
    return section;
  }
  const exportOut = el("p", { class: "status", role: "status", id: "export-status" });
  const exportButton = el("button", { type: "button", id: "export-button", text: "Download all data (JSON)" });
  exportButton.addEventListener("click", async () => {
    status(exportOut, "Preparing the export…");
    const r = await api("export");
    if (!r.ok) { status(exportOut, "No export: " + errorText(r), true); return; }
    download("accorria-export.json", JSON.stringify(r.body, null, 2));
    status(exportOut, "Export downloaded (accorria-export.json). Facebook Page tokens are never included.");
  });
  const confirm = el("input", { id: "delete-confirm", name: "confirm", type: "text", autocomplete: "off", maxlength: "100",
    "aria-describedby": "delete-hint" });
  const deleteOut = el("p", { class: "status", role: "status", id: "delete-status" });
  const form = el("form", { class: "form danger-zone", id: "delete-form", "aria-label": "Delete the account" },
    el("h3", { text: "Delete the account" }),
    el("p", { class: "hint", id: "delete-hint",
      text: "Deletes every listing, conversation, buyer and member of this account for good. Type " + DELETE_PHRASE + " to confirm." }),
    el("div", { class: "field" }, el("label", { for: "delete-confirm", text: "Confirmation" }), confirm),
    el("button", { type: "submit", class: "danger", text: "Delete the account" }), deleteOut);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (confirm.value.trim() !== DELETE_PHRASE) {
      status(deleteOut, "Not deleted: type " + DELETE_PHRASE + " exactly.", true);
      return;
    }
    const r = await api("account", { method: "DELETE", body: { confirm: confirm.value.trim() } });
    status(deleteOut, r.ok ? "The account and all of its data are deleted. You are signed out. " : "Not deleted: " + errorText(r), !r.ok);
    if (r.ok) deleteOut.append(el("a", { href: "/auth/", text: "Create a new account" }));
  });
  section.append(el("div", { class: "actions" }, exportButton), exportOut, form);
  return section;
}

/** The account's sections, in page order. */
export async function accountSections(session) {
  return [await members(session), await notifications(), data(session)];
}
