"""Prometheus metrics of one runtime (own registry, so several runtimes can live in one test process)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# Buyer-facing latencies: from under a second (no delays) to minutes (human-like delays, retries).
RESPONSE_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
GRAPH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Inbound webhook events that are a buyer writing (a quick reply is a message).
BUYER_EVENT_KINDS = frozenset({"message", "postback"})
# Outbound final statuses that are errors, as messenger_errors_total types.
SEND_ERROR_TYPES = {"failed": "send_failed", "refused": "send_refused"}


class _Labelled:
    """One child of a :class:`TeeCounter`: increments the child and reports to the tee's side effect."""

    def __init__(self, child: Any, labels: dict[str, str], also: Callable[[dict[str, str], float], None]):
        self._child, self._labels, self._also = child, labels, also

    def inc(self, amount: float = 1) -> None:
        self._child.inc(amount)
        self._also(self._labels, amount)


class TeeCounter:
    """A labelled counter whose increments also feed the seed's metric names (one call site, two names)."""

    def __init__(self, counter: Counter, also: Callable[[dict[str, str], float], None]) -> None:
        self._counter, self._also = counter, also

    def labels(self, **labels: str) -> _Labelled:
        return _Labelled(self._counter.labels(**labels), labels, self._also)


class TeeHistogram:
    """Observations go to two histograms (the service's own name and the seed's)."""

    def __init__(self, *histograms: Histogram) -> None:
        self._histograms = histograms

    def observe(self, value: float) -> None:
        for histogram in self._histograms:
            histogram.observe(value)


class Metrics:
    """Counters, histograms and gauges the service exports at ``/metrics``.

    ``messenger_*`` are the seed's operations metrics (see docs/analytics.md); the gauges are set from
    the database at scrape time (:func:`accorria_agent.analytics.operations.refresh_gauges`).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.messages = Counter(
            "messenger_messages_total",
            "Buyer messages received and our messages sent",
            ["direction"],
            registry=registry,
        )
        self.errors = Counter(
            "messenger_errors_total",
            "Errors by type (webhook_signature, webhook_malformed, webhook_storage, send_failed, "
            "send_refused, graph_<class>)",
            ["type"],
            registry=registry,
        )
        self.response_time = Histogram(
            "messenger_response_time_seconds",
            "From the buyer's last message (Meta's timestamp) to our reply accepted by the Send API",
            buckets=RESPONSE_BUCKETS,
            registry=registry,
        )
        self.active_conversations = Gauge(
            "messenger_active_conversations",
            "Conversations whose buyer wrote in the last 24 hours (from the database at scrape time)",
            registry=registry,
        )
        self.queue_depth = Gauge(
            "messenger_queue_depth", "Jobs waiting to run (due or scheduled)", registry=registry
        )
        self.queue_oldest_age = Gauge(
            "messenger_queue_oldest_job_age_seconds",
            "Age of the oldest job due and not started (0 when none)",
            registry=registry,
        )
        self.held_replies = Gauge(
            "messenger_held_replies",
            "Replies held while sending is halted or a Page paused",
            registry=registry,
        )
        self.sending_halted = Gauge(
            "messenger_sending_halted", "1 while the global kill switch stops every send", registry=registry
        )
        self.pages = Gauge(
            "messenger_pages",
            "Connected Pages by status (active, needs_reauth, restricted, paused)",
            ["status"],
            registry=registry,
        )
        self.graph_latency = Histogram(
            "messenger_graph_request_duration_seconds",
            "Graph API calls, by operation",
            ["operation"],
            buckets=GRAPH_BUCKETS,
            registry=registry,
        )
        self.graph_errors = Counter(
            "messenger_graph_errors_total",
            "Graph API error answers by Meta error code (or HTTP status, or 'network')",
            ["code"],
            registry=registry,
        )
        self.webhook_responses = Counter(
            "messenger_webhook_responses_total",
            "Webhook answers by HTTP status",
            ["status"],
            registry=registry,
        )
        self.webhook_events = Counter(
            "accorria_webhook_events_total", "Webhook events stored", registry=registry
        )
        self.webhook_rejected = TeeCounter(
            Counter(
                "accorria_webhook_rejected_total",
                "Webhook deliveries refused",
                ["reason"],
                registry=registry,
            ),
            lambda labels, amount: self.errors.labels(type=f"webhook_{labels['reason']}").inc(amount),
        )
        self.replies_sent = TeeCounter(
            Counter(
                "accorria_replies_sent_total",
                "Outbound messages by final status",
                ["status"],
                registry=registry,
            ),
            self._reply_status,
        )
        self.reply_latency = TeeHistogram(
            Histogram(
                "accorria_reply_latency_seconds",
                "From the buyer's last message (Meta's timestamp) to our accepted Send API call",
                registry=registry,
            ),
            self.response_time,
        )

    def _reply_status(self, labels: dict[str, str], amount: float) -> None:
        status = labels.get("status", "")
        if status == "sent":
            self.messages.labels(direction="outbound").inc(amount)
        elif status in SEND_ERROR_TYPES:
            self.errors.labels(type=SEND_ERROR_TYPES[status]).inc(amount)

    def record_webhook_events(self, kinds: Iterable[str]) -> None:
        """Count a stored delivery's events, and the buyer messages among them."""
        kinds = list(kinds)
        self.webhook_events.inc(len(kinds))
        buyer = sum(1 for kind in kinds if kind in BUYER_EVENT_KINDS)
        if buyer:
            self.messages.labels(direction="inbound").inc(buyer)


def metric_names(metrics: Metrics) -> set[str]:
    """Every sample name the registry exports (with ``_total``, ``_bucket``… suffixes)."""
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}


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
