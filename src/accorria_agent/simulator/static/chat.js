/* Buyer chat: pick a PSID/name, send messages, see the agent's replies (polls every second). */
"use strict";

(() => {
  const psidInput = document.getElementById("psid-input");
  const nameInput = document.getElementById("name-input");
  const input = document.getElementById("message-input");
  const thread = document.getElementById("thread");
  const quickReplies = document.getElementById("quick-replies");
  const typing = document.getElementById("typing");
  let lastRendered = "";

  function randomPsid() {
    let digits = String(1 + Math.floor(Math.random() * 9));
    while (digits.length < 16) digits += String(Math.floor(Math.random() * 10));
    return digits;
  }

  function psid() {
    const value = psidInput.value.trim();
    return /^[0-9]{1,32}$/.test(value) ? value : null;
  }

  function remember() {
    localStorage.setItem("sim-psid", psidInput.value.trim());
    localStorage.setItem("sim-name", nameInput.value.trim());
  }

  async function send(body) {
    const id = psid();
    if (!id) { Sim.setStatus("PSID must be 1-32 digits", true); return; }
    const name = nameInput.value.trim();
    if (name) body.name = name;
    remember();
    const result = await Sim.api("api/buyers/" + id + "/messages", { method: "POST", body: JSON.stringify(body) });
    if (!result.ok) Sim.setStatus(Sim.errorText(result), true);
    else if (result.body.status >= 200 && result.body.status < 300) Sim.setStatus("delivered (agent answered " + result.body.status + ")");
    else Sim.setStatus("agent answered " + (result.body.status || "nothing") + (result.body.error ? ": " + result.body.error : ""), true);
    await refresh();
  }

  function onPostback(payload, title) { send({ postback: String(payload), title: String(title).slice(0, 100) }); }

  function renderQuickReplies(messages) {
    quickReplies.replaceChildren();
    const last = messages[messages.length - 1];
    if (!last || last.from !== "page") return;
    (last.quick_replies || []).forEach((qr) => {
      if (qr.content_type && qr.content_type !== "text") return;
      const button = Sim.el("button", "quick-reply", qr.title || qr.payload);
      button.type = "button";
      button.addEventListener("click", () => send({ quick_reply: String(qr.payload) }));
      quickReplies.appendChild(button);
    });
  }

  async function refresh() {
    const id = psid();
    if (!id) return;
    const result = await Sim.api("api/threads/" + id);
    const data = result.ok ? result.body : { messages: [], typing: false };
    const key = JSON.stringify(data);
    if (key === lastRendered) return;
    lastRendered = key;
    Sim.renderThread(thread, data.messages, onPostback);
    renderQuickReplies(data.messages);
    typing.hidden = !data.typing;
  }

  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send({ text: text });
  });
  document.getElementById("like-button").addEventListener("click", () => send({ like: true }));
  document.getElementById("new-buyer").addEventListener("click", () => {
    psidInput.value = randomPsid();
    nameInput.value = "";
    lastRendered = "";
    remember();
    refresh();
  });
  document.getElementById("referral-button").addEventListener("click", async () => {
    const id = psid();
    if (!id) return;
    remember();
    const body = { type: "referral" };
    const name = nameInput.value.trim();
    if (name) body.name = name;
    const result = await Sim.api("api/buyers/" + id + "/events", { method: "POST", body: JSON.stringify(body) });
    Sim.setStatus(result.ok ? "referral sent (agent answered " + result.body.status + ")" : Sim.errorText(result), !result.ok);
    refresh();
  });
  psidInput.addEventListener("change", () => { lastRendered = ""; remember(); refresh(); });
  nameInput.addEventListener("change", remember);

  psidInput.value = localStorage.getItem("sim-psid") || randomPsid();
  nameInput.value = localStorage.getItem("sim-name") || "";
  Sim.api("api/state").then((result) => {
    if (result.ok) document.getElementById("page-name").textContent = result.body.page_name;
  });
  refresh();
  setInterval(refresh, 1000);
})();
