/* Small DOM helpers. Data is only ever written with textContent (never parsed as HTML). */

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function money(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? "$" + n.toLocaleString("en-US", { maximumFractionDigits: 2 }) : String(value);
}

export function duration(seconds) {
  if (seconds >= 2 * 86400) return Math.floor(seconds / 86400) + " d";
  if (seconds >= 3600) return Math.floor(seconds / 3600) + " h";
  if (seconds >= 60) return Math.floor(seconds / 60) + " min";
  return Math.max(0, Math.floor(seconds)) + " s";
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

/** A page's empty state: what is missing and the one thing to do next. */
export function emptyState(title, text, action) {
  return el("div", { class: "empty-state" },
    el("h2", { text: title }),
    el("p", { text }),
    action ? el("a", { class: "button", href: action.href, text: action.label }) : null);
}

export function status(node, text, isError) {
  node.textContent = text || "";
  node.classList.toggle("error", Boolean(isError));
}

export function safeClass(value) {
  return String(value).replace(/[^a-z_-]/g, "");
}
