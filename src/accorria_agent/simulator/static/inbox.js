/* Page Inbox: list threads, read one, reply as the seller, take/hand back thread control. */
"use strict";

(() => {
  const list = document.getElementById("thread-list");
  const thread = document.getElementById("thread");
  const input = document.getElementById("inbox-input");
  const sendButton = document.getElementById("inbox-send");
  const takeButton = document.getElementById("take-control");
  const passButton = document.getElementById("pass-control");
  let selected = null;
  let inboxAppId = null;
  let lastList = "";
  let lastThread = "";

  function select(psid) {
    selected = psid;
    lastThread = "";
    [input, sendButton, takeButton, passButton].forEach((node) => { node.disabled = false; });
    refreshList(true);
    refreshThread();
  }

  async function refreshList(force) {
    const result = await Sim.api("api/threads");
    if (!result.ok) return;
    const key = JSON.stringify(result.body) + String(selected);
    if (!force && key === lastList) return;
    lastList = key;
    list.replaceChildren(...result.body.map((t) => {
      const item = Sim.el("button", "thread-item" + (t.psid === selected ? " selected" : ""));
      item.type = "button";
      item.appendChild(Sim.el("div", "thread-name", t.name || t.psid));
      const last = t.last_message;
      item.appendChild(Sim.el("div", "thread-preview", last ? (last.text || "[attachment]") : ""));
      item.addEventListener("click", () => select(t.psid));
      return item;
    }));
  }

  async function refreshThread() {
    if (!selected) return;
    const result = await Sim.api("api/threads/" + selected);
    if (!result.ok) return;
    const key = JSON.stringify(result.body);
    if (key === lastThread) return;
    lastThread = key;
    document.getElementById("thread-title").textContent = result.body.name + " (" + result.body.psid + ")";
    const owner = result.body.owner_app_id;
    document.getElementById("thread-owner").textContent =
      owner === null ? "bot owns the thread" : (owner === inboxAppId ? "Page Inbox owns the thread" : "owner app " + owner);
    Sim.renderThread(thread, result.body.messages, null);
  }

  async function handover(action) {
    if (!selected) return;
    const result = await Sim.api("api/inbox/" + selected + "/handover",
      { method: "POST", body: JSON.stringify({ action: action }) });
    Sim.setStatus(result.ok ? action + " (agent answered " + result.body.status + ")" : Sim.errorText(result), !result.ok);
    lastThread = "";
    refreshThread();
  }

  document.getElementById("inbox-composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!selected || !input.value.trim()) return;
    const text = input.value;
    input.value = "";
    const result = await Sim.api("api/inbox/" + selected + "/messages",
      { method: "POST", body: JSON.stringify({ text: text }) });
    Sim.setStatus(result.ok ? "sent" : Sim.errorText(result), !result.ok);
    refreshThread();
  });
  takeButton.addEventListener("click", () => handover("take_thread_control"));
  passButton.addEventListener("click", () => handover("pass_thread_control"));

  Sim.api("api/state").then((result) => {
    if (!result.ok) return;
    document.getElementById("page-name").textContent = result.body.page_name;
    inboxAppId = result.body.page_inbox_app_id;
  });
  refreshList(true);
  setInterval(() => { refreshList(false); refreshThread(); }, 1000);
})();
