/* The dashboard's one door to the server. Same-origin cookies carry the session (HttpOnly, never read
 * here); every state-changing call repeats the accorria_csrf cookie in X-CSRF-Token (double submit).
 * A missing endpoint (404/405 on a collection) is reported as {missing: true} so a page can show a
 * friendly empty state instead of an error. */

export function csrfToken() {
  const match = document.cookie.split("; ").find((c) => c.startsWith("accorria_csrf="));
  return match ? decodeURIComponent(match.slice("accorria_csrf=".length)) : "";
}

const listeners = new Set();
export function onUnauthorized(fn) { listeners.add(fn); }

export async function api(path, options = {}) {
  const init = { ...options, headers: { ...(options.headers || {}) }, credentials: "same-origin" };
  if (init.method && init.method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
  if (init.body !== undefined && !(init.body instanceof FormData)) {
    init.headers["Content-Type"] = "application/json";
    if (typeof init.body !== "string") init.body = JSON.stringify(init.body);
  }
  let response;
  try {
    response = await fetch("/api/" + path, init);
  } catch (_) {
    return { ok: false, status: 0, body: null, offline: true };
  }
  if (response.status === 401) listeners.forEach((fn) => fn());
  let body = null;
  if (response.status !== 204) {
    try { body = await response.json(); } catch (_) { body = null; }
  }
  const missing = response.status === 405 ||
    (response.status === 404 && (!body || body.detail === "Not Found"));
  return { ok: response.ok, status: response.status, body, missing, headers: response.headers };
}

/** A readable sentence out of an error answer (typed {detail, code} or FastAPI's 422 list). */
export function errorText(result, fallback) {
  const detail = result && result.body && result.body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => {
      const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
      return (where ? where + ": " : "") + d.msg;
    }).join("; ");
  }
  if (result && result.offline) return "Connection problem; try again.";
  return fallback || "Something went wrong (" + (result ? result.status : "?") + ").";
}

let featuresPromise = null;
/** Which optional APIs (deals, bookings, analytics, pages, questions, connect, preview) exist. */
export function features() {
  if (!featuresPromise) {
    featuresPromise = api("dashboard/features").then((r) => (r.ok && r.body ? r.body : {}));
  }
  return featuresPromise;
}

/** Whether a stored message went out to the buyer: Meta's echo or delivery receipt may have moved it past
 * "sent" (to "delivered" or "read") before the server answered the request that sent it. */
export function wentOut(message) {
  return message !== null && typeof message === "object" && ["sent", "delivered", "read"].includes(message.status);
}
