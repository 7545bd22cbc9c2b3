/* Live updates: one EventSource on /api/live. Events only name what changed (message, conversation,
 * notification, resync); the current page refetches it through the scoped API. A slow poll stays on as
 * a safety net for proxies that buffer streams. Alerts (a browser notification and a short tone) need
 * a user gesture first, so they are switched on by a button. */

const handlers = new Set();
let source = null;
let audio = null;

export function onLive(fn) { handlers.add(fn); return () => handlers.delete(fn); }

function dispatch(kind, data) {
  for (const fn of handlers) {
    try { fn(kind, data); } catch (error) { console.warn("live handler failed", error); }
  }
}

export function connectLive(stateNode) {
  if (source || typeof EventSource === "undefined") return;
  source = new EventSource("/api/live");
  const setState = (text, ok) => {
    stateNode.textContent = text;
    stateNode.classList.toggle("live-on", ok);
  };
  source.addEventListener("ready", () => setState("live", true));
  let poll = null;
  source.addEventListener("error", async () => {
    setState("reconnecting…", false);
    // EventSource retries for ever; a session that has ended (signed out elsewhere, member removed,
    // account deleted) must stop it instead of knocking on /api/live every few seconds.
    try {
      const me = await fetch("/api/me", { credentials: "same-origin" });
      if (me.status === 401 && source) {
        source.close();
        source = null;
        if (poll !== null) clearInterval(poll);
        setState("signed out", false);
      }
    } catch (_) { /* offline: EventSource keeps retrying */ }
  });
  for (const kind of ["message", "conversation", "notification", "resync"]) {
    source.addEventListener(kind, (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { data = {}; }
      dispatch(kind, data);
    });
  }
  poll = setInterval(() => dispatch("poll", {}), 15000);
}

export function alertsEnabled() {
  return audio !== null;
}

/** Called from a click: asks for notification permission and unlocks sound. */
export async function enableAlerts() {
  try {
    audio = new (window.AudioContext || window.webkitAudioContext)();
  } catch (_) { audio = null; }
  if ("Notification" in window && Notification.permission === "default") {
    try { await Notification.requestPermission(); } catch (_) { /* refused: the tone still plays */ }
  }
  return audio !== null;
}

function tone() {
  if (!audio) return;
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.frequency.value = 880;
  gain.gain.setValueAtTime(0.15, audio.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start();
  oscillator.stop(audio.currentTime + 0.35);
}

/** A conversation needs the seller: tell them even when the tab is in the background. */
export function alertSeller(text) {
  tone();
  if ("Notification" in window && Notification.permission === "granted") {
    try { new Notification("Accorria: a buyer needs you", { body: text }); } catch (_) { /* not supported */ }
  }
}
