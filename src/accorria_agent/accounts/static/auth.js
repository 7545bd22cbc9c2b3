/* Sign-in, sign-up, reset and invitation forms. Every text is written with textContent. */
"use strict";

(() => {
  const params = new URLSearchParams(window.location.search);
  const token = params.get("token") || "";
  const message = document.getElementById("message");
  const errors = {
    invalid_token: "This link is invalid, expired or was already used.",
  };

  function show(mode) {
    for (const form of document.querySelectorAll("form")) form.hidden = form.dataset.mode !== mode;
  }

  function mode() {
    if (window.location.pathname.endsWith("/reset")) return "reset";
    if (window.location.pathname.endsWith("/invitation")) return "invitation";
    const hash = window.location.hash.replace(/^#/, "");
    return ["signup", "forgot", "login"].includes(hash) ? hash : "login";
  }

  function say(text, isError) {
    message.textContent = text;
    message.className = isError ? "error" : "";
  }

  async function post(path, body) {
    const response = await fetch("/api/auth/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function detail(r) {
    const d = r.data && r.data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => (e.loc || []).slice(-1).join("") + ": " + e.msg).join("; ");
    return "Something went wrong (" + r.status + ")";
  }

  const actions = {
    login: (f) => post("login", { email: f.email.value, password: f.password.value }),
    signup: (f) => post("signup", { name: f.name.value, email: f.email.value, password: f.password.value }),
    forgot: (f) => post("password-reset", { email: f.email.value }),
    reset: (f) => post("password-reset/confirm", { token: token, password: f.password.value }),
    invitation: (f) => post("accept-invitation", { token: token, name: f.name.value, password: f.password.value }),
  };
  const done = {
    login: () => window.location.assign("/dashboard/"),
    signup: () => window.location.assign("/dashboard/"),
    forgot: () => say("If this email has an account, a reset link is on its way.", false),
    reset: () => { say("Password changed. Sign in with it.", false); show("login"); },
    invitation: () => window.location.assign("/dashboard/"),
  };

  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const m = form.dataset.mode;
      try {
        const r = await actions[m](form.elements);
        if (r.ok) done[m](); else say(detail(r), true);
      } catch (_) {
        say("Connection problem; try again.", true);
      }
    });
  }
  window.addEventListener("hashchange", () => show(mode()));
  const error = params.get("error");
  if (error) say(errors[error] || "That did not work.", true);
  show(mode());
})();
