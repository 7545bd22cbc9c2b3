/* Analytics: the report of GET /api/analytics?from=&to= (conversations, response time, the offers →
 * agreed → test drive → escrow → sold funnel, takeovers) drawn with the vendored Chart.js, plus the CSV
 * download (/api/analytics.csv). A server without the analytics API shows an empty state. */

import { api, errorText, features } from "./api.js";
import { duration, el, emptyState } from "./dom.js";

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
function percent(value) { return value === null || value === undefined ? "—" : Math.round(value * 100) + " %"; }
function seconds(value) { return value === null || value === undefined ? "—" : duration(value); }

const FUNNEL = [["offers", "Offers"], ["agreed", "Agreed"], ["test_drive", "Test drive"], ["escrow", "Escrow"], ["sold", "Sold"]];
const CAUSES = [["buyer_asked", "Buyer asked"], ["scam", "Scam"], ["seller_stepped_in", "You stepped in"], ["other", "Other"]];

function table(caption, rows) {
  return el("table", { class: "figures" }, el("caption", { text: caption }),
    el("tbody", {}, rows.map(([label, value]) => el("tr", {}, el("th", { scope: "row", text: label }), el("td", { text: value })))));
}

export async function renderAnalytics(view) {
  const today = new Date();
  const from = el("input", { id: "from", name: "from", type: "date", value: isoDay(new Date(today.getTime() - 29 * 86400000)) });
  const to = el("input", { id: "to", name: "to", type: "date", value: isoDay(today) });
  const csv = el("a", { id: "csv-link", class: "button secondary", text: "Download CSV" });
  const out = el("p", { id: "analytics-status", class: "status", role: "status" });
  const form = el("form", { class: "inline-form", id: "range-form" },
    el("label", { for: "from", text: "From" }), from, el("label", { for: "to", text: "To" }), to,
    el("button", { type: "submit", text: "Show" }), csv);
  const body = el("div", { id: "analytics-body" });
  view.append(el("div", { class: "page-header" }, el("h1", { text: "Analytics" })), form, out, body);
  const charts = [];

  async function load() {
    const query = "from=" + encodeURIComponent(from.value) + "&to=" + encodeURIComponent(to.value);
    csv.href = "/api/analytics.csv?" + query;
    const r = (await features()).analytics ? await api("analytics?" + query) : { ok: false, missing: true };
    charts.splice(0).forEach((c) => c.destroy());
    out.textContent = "";
    if (r.missing) {
      body.replaceChildren(emptyState("Analytics are on their way",
        "Once buyers have written, this page shows conversations, response times and the offer-to-sale funnel.", { href: "#/inbox", label: "Open the inbox" }));
      csv.hidden = true;
      return;
    }
    if (!r.ok) { out.textContent = errorText(r); out.classList.add("error"); return; }
    csv.hidden = false;
    const report = r.body;
    const funnelCanvas = el("canvas", { id: "funnel-chart", role: "img", "aria-label": "Funnel: " + FUNNEL.map(([k, l]) => l + " " + report.funnel[k]).join(", ") });
    const causesCanvas = el("canvas", { id: "causes-chart", role: "img", "aria-label": "Takeovers by cause: " + CAUSES.map(([k, l]) => l + " " + report.takeover_causes[k]).join(", ") });
    const summary = table("Summary", [
      ["Conversations", String(report.total_conversations)],
      ["Answered", String(report.answered_conversations)],
      ["Median first response", seconds(report.median_response_time)],
      ["90th percentile response", seconds(report.p90_response_time)],
      ["Conversion (to sold)", percent(report.conversion_rate)],
      ["Escrow adoption", percent(report.escrow_adoption_rate)],
      ["Takeover rate", percent(report.human_takeover_rate)],
      ["Messages refused by the 24-hour rule", String(report.policy_refusals)],
      ["Agreed ÷ asking (average)", percent(report.average_agreed_to_asking)],
    ]);
    body.replaceChildren(
      report.total_conversations === 0 ? emptyState("No conversations in this period", "Pick a wider date range, or share your listing's link to get buyers writing.", { href: "#/listings", label: "Open your listings" }) : "",
      summary,
      el("h2", { text: "From offer to sale" }), el("div", { class: "chart" }, funnelCanvas),
      table("Funnel", FUNNEL.map(([k, l]) => [l, String(report.funnel[k])])),
      el("h2", { text: "Why a person took over" }), el("div", { class: "chart" }, causesCanvas),
      table("Takeovers by cause", CAUSES.map(([k, l]) => [l, String(report.takeover_causes[k])])));
    try {
      const Chart = await loadChart();
      const options = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } };
      charts.push(new Chart(funnelCanvas, { type: "bar", data: { labels: FUNNEL.map(([, l]) => l),
        datasets: [{ label: "Conversations", data: FUNNEL.map(([k]) => report.funnel[k]), backgroundColor: "#0b57b0" }] }, options }));
      charts.push(new Chart(causesCanvas, { type: "bar", data: { labels: CAUSES.map(([, l]) => l),
        datasets: [{ label: "Takeovers", data: CAUSES.map(([k]) => report.takeover_causes[k]), backgroundColor: "#4a2fa8" }] },
      options: { ...options, indexAxis: "y" } }));
    } catch (_) {
      out.textContent = "The charts could not be drawn; the figures are in the tables.";
    }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
  return () => charts.forEach((c) => c.destroy());
}
