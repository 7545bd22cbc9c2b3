"""Prometheus metrics of one runtime (own registry, so several runtimes can live in one test process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class Metrics:
    """Counters and histograms the service exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhook_events = Counter(
            "accorria_webhook_events_total", "Webhook events stored", registry=self.registry
        )
        self.webhook_rejected = Counter(
            "accorria_webhook_rejected_total",
            "Webhook deliveries refused",
            ["reason"],
            registry=self.registry,
        )
        self.replies_sent = Counter(
            "accorria_replies_sent_total",
            "Outbound messages by final status",
            ["status"],
            registry=self.registry,
        )
        self.reply_latency = Histogram(
            "accorria_reply_latency_seconds",
            "From the buyer's last message (Meta's timestamp) to our accepted Send API call",
            registry=self.registry,
        )


class PhraserCollector(Collector):
    """Exports a phraser's counters (LLM replies sent, template fallbacks by reason) at scrape time."""

    def __init__(self, phraser_metrics: Any) -> None:
        self._metrics = phraser_metrics

    def collect(self) -> Iterator[CounterMetricFamily]:
        replies = CounterMetricFamily("accorria_llm_replies", "Replies sent as the LLM phrased them")
        replies.add_metric([], float(self._metrics.llm_replies))
        yield replies
        fallbacks = CounterMetricFamily(
            "accorria_llm_template_fallbacks", "LLM replies replaced by the template", labels=["reason"]
        )
        for reason, count in sorted(self._metrics.fallbacks.items()):
            fallbacks.add_metric([reason], float(count))
        yield fallbacks
