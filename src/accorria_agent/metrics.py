"""Prometheus metrics of one runtime (own registry, so several runtimes can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


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
        self.phrasing_fallbacks = Counter(
            "accorria_llm_fallbacks_total",
            "LLM replies replaced by templates",
            ["reason"],
            registry=self.registry,
        )
        self.reply_latency = Histogram(
            "accorria_reply_latency_seconds",
            "From the buyer's last message being stored to the Send API call",
            registry=self.registry,
        )
