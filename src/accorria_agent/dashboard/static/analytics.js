/* Analytics: the numbers the analytics API computes for a date range, drawn with the vendored Chart.js,
 * and a CSV download. A missing API shows an empty state. */

import { api, features } from "./api.js";
import { el, emptyState } from "./dom.js";

let chartLoaded = null;
function loadChart() {
  // Chart.js is a UMD script (vendored, MIT): loaded once as a classic script from our own origin.
  if (!chartLoaded) {
    chartLoaded = new Promise((resolve, reject) => {
      const script = el("script", { src: "static/vendor/chart.umd.min.js" });
      script.addEventListener("load", () => resolve(window.Chart));
      script.addEventListener("error", reject);
      document.head.append(script);
    });
  }
  return chartLoaded;
}

function isoDay(date) { return date.toISOString().slice(0, 10); }

function numbersOf(body) {
  // Accept a flat object of numbers, or {totals: {...}}: draw every numeric figure found.
  const source = body && typeof body.totals === "object" ? body.totals : body;
  return Object.entries(source || {}).filter(([, v]) => typeof v === "number");
}

function seriesOf(body) {
  const rows = body && (body.by_day || body.series || body.days);
  return Array.isArray(rows) ? rows : [];
}

export async function renderAnalytics(view) {
  const today = new Date();
  const from = el("input", { id: "from", name: "from", type: "date", value: isoDay(new Date(today.getTime() - 29 * 86400000)) });
  const to = el("input", { id: "to", name: "to", type: "date", value: isoDay(today) });
  const csv = el("a", { id: "csv-link", class: "button secondary", text: "Download CSV" });
  const form = el("form", { class: "inline-form", id: "range-form" },
    el("label", { for: "from", text: "From" }), from, el("label", { for: "to", text: "To" }), to,
    el("button", { type: "submit", text: "Show" }), csv);
  const body = el("div", { id: "analytics-body" });
  view.append(el("div", { class: "page-header" }, el("h1", { text: "Analytics" })), form, body);
  const charts = [];

  async function load() {
    const query = "from=" + encodeURIComponent(from.value) + "&to=" + encodeURIComponent(to.value);
    csv.href = "/api/analytics.csv?" + query;
    const r = (await features()).analytics ? await api("analytics?" + query) : { ok: false, missing: true };
    charts.splice(0).forEach((c) => c.destroy());
    if (r.missing || !r.ok) {
      body.replaceChildren(emptyState("Analytics are on their way",
        "Once buyers have written, this page shows conversations, response times and the offer-to-sale funnel.", { href: "#/inbox", label: "Open the inbox" }));
      csv.hidden = true;
      return;
    }
    csv.hidden = false;
    const numbers = numbersOf(r.body);
    const table = el("dl", { class: "facts" }, numbers.flatMap(([k, v]) => [el("dt", { text: k.replace(/_/g, " ") }), el("dd", { text: String(v) })]));
    const figure = el("canvas", { id: "funnel-chart", role: "img", "aria-label": "The figures above as a bar chart" });
    const series = seriesOf(r.body);
    const trend = el("canvas", { id: "trend-chart", role: "img", "aria-label": "Conversations per day" });
    body.replaceChildren(table, el("div", { class: "chart" }, figure), series.length ? el("div", { class: "chart" }, trend) : "");
    try {
      const Chart = await loadChart();
      charts.push(new Chart(figure, { type: "bar", data: { labels: numbers.map(([k]) => k.replace(/_/g, " ")),
        datasets: [{ label: "This period", data: numbers.map(([, v]) => v), backgroundColor: "#1d5fbf" }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, indexAxis: "y" } }));
      if (series.length) {
        const key = Object.keys(series[0]).find((k) => typeof series[0][k] === "number");
        charts.push(new Chart(trend, { type: "line", data: { labels: series.map((s) => s.day || s.date || ""),
          datasets: [{ label: key, data: series.map((s) => s[key]), borderColor: "#1d5fbf" }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false } }));
      }
    } catch (_) {
      figure.replaceWith(el("p", { class: "hint", text: "The chart could not be drawn; the figures are above." }));
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
  return () => charts.forEach((c) => c.destroy());
}
