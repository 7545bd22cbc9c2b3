"""/metrics after a scripted conversation: the seed's four names with the values the conversation implies;
the worker's own metrics port; the Grafana dashboard and the alert rules refer only to exported metrics."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from accorria_agent.metrics import Metrics
from accorria_agent.settings import Settings
from accorria_agent.worker import start_metrics_server
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, keyed by (name, sorted labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def scrape(h: SimHarness) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await h.client.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


async def test_the_seeds_four_metrics_after_a_scripted_conversation(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("4001", "hi, is the car still available?")
        await h.say("4001", "what's the mileage?")
        await h.say("4002", "hello")
        bad = await h.client.post(
            "/webhook", content=b'{"object":"page","entry":[]}', headers={"X-Hub-Signature-256": "sha256=00"}
        )
        assert bad.status_code == 403
        sent = len(h.sent_texts("4001")) + len(h.sent_texts("4002"))
        assert sent >= 3

        values = await scrape(h)
        assert values[("messenger_messages_total", (("direction", "inbound"),))] == 3
        assert values[("messenger_messages_total", (("direction", "outbound"),))] == sent
        assert values[("messenger_errors_total", (("type", "webhook_signature"),))] == 1
        assert values[("messenger_active_conversations", ())] == 2
        # Every bot reply sent is one observation of buyer message -> reply sent.
        assert values[("messenger_response_time_seconds_count", ())] == sent
        assert values[("messenger_response_time_seconds_sum", ())] >= 0
        assert values[("messenger_webhook_responses_total", (("status", "403"),))] == 1
        assert values[("messenger_webhook_responses_total", (("status", "200"),))] >= 3
        assert (
            values[("messenger_graph_request_duration_seconds_count", (("operation", "messages"),))] >= sent
        )
        assert values[("messenger_queue_depth", ())] == 0
        assert values[("messenger_held_replies", ())] == 0
        assert values[("messenger_sending_halted", ())] == 0
        assert values[("messenger_pages", (("status", "active"),))] == 1

        # A day later, nobody has written for 24 hours: no active conversation (the simulator's clock).
        h.sim.state.advance(25 * 3600)
        assert (await scrape(h))[("messenger_active_conversations", ())] == 0


async def test_graph_errors_are_counted_by_meta_code(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        h.runtime.metrics.graph_errors.labels(code="x")  # the family exists before any error
        response = await h.runtime.http.post(
            f"{h.runtime.settings.graph_base_url}/me/messages", params={"access_token": "wrong"}, json={}
        )
        assert response.status_code >= 400 and "error" in response.json()  # the body is still readable
        values = await scrape(h)
        codes = {
            dict(labels).get("code")
            for (name, labels), value in values.items()
            if name == "messenger_graph_errors_total" and value > 0
        }
        assert codes and all(code and code.isdigit() for code in codes)


async def test_the_worker_serves_its_metrics_on_its_own_port(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("4101", "hi")
        server = await start_metrics_server(h.runtime, "127.0.0.1", 0)
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
            assert response.status_code == 200
            values = samples(response.text)
            assert values[("messenger_active_conversations", ())] == 1
            assert values[("messenger_messages_total", (("direction", "inbound"),))] == 1
        finally:
            await server.stop()


def exported_names() -> set[str]:
    """Every metric name the app can export, with Prometheus' suffixes."""
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(
            f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum", "_created")
        )
    return names


def expression_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\b((?:messenger|accorria)_[a-z0-9_]+)", expression))


def test_dashboard_and_alerts_use_only_exported_metrics() -> None:
    known = exported_names()
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "WebhookServerErrors",
        "JobQueueBacklog",
        "PageTokenInvalid",
        "KillSwitchOn",
        "SendApiErrorRate",
    } <= set(alerts)
    for expression in [*expressions, *alerts.values()]:
        used = expression_metrics(expression)
        assert used, expression
        assert used <= known, (expression, used - known)
    seed_four = {
        "messenger_response_time_seconds_bucket",
        "messenger_messages_total",
        "messenger_errors_total",
        "messenger_active_conversations",
    }
    assert seed_four <= set().union(*(expression_metrics(e) for e in expressions))


async def test_a_compressed_graph_error_is_counted_and_still_readable() -> None:
    import gzip

    from accorria_agent.messenger.graph_metrics import MeteredTransport, operation_of

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.test":
            return httpx.Response(500)
        body = gzip.compress(b'{"error":{"code":190,"message":"expired"}}')
        return httpx.Response(400, headers={"content-encoding": "gzip"}, content=body)

    metrics = Metrics()
    transport = MeteredTransport(httpx.MockTransport(graph), metrics, "http://graph.test")
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.post("http://graph.test/v23.0/me/messages", json={})
        assert response.status_code == 400 and response.json()["error"]["code"] == 190
        assert (await client.get("http://elsewhere.test/x")).status_code == 500  # not a Graph call
    values = samples(generate_text(metrics))
    assert values[("messenger_graph_errors_total", (("code", "190"),))] == 1
    assert values[("messenger_errors_total", (("type", "graph_api"),))] == 1
    assert values[("messenger_graph_request_duration_seconds_count", (("operation", "messages"),))] == 1
    assert operation_of(httpx.URL("http://graph.test/v23.0/123456/whatever")) == "other"


def generate_text(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()
