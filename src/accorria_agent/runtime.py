"""The runtime: every long-lived object of one process, built once from settings, started and stopped.

Web handlers reach it as ``request.app.state.runtime``; jobs receive it. External systems (Graph API,
LLM) are injected here, which is how tests and the demo swap them for the simulator and fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accorria_agent.conversations.composer import ReplyComposer
from accorria_agent.conversations.mode_changes import install_mode_change_hook
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.jobs.interface import JobQueue, JobRequest, TaskRegistry
from accorria_agent.messenger.delivery import DELIVER_OUTBOUND_TASK, OutboundDelivery
from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.graph_metrics import MeteredTransport
from accorria_agent.messenger.intake import PROCESS_CONVERSATION_TASK, WebhookIntake
from accorria_agent.messenger.rate_limit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from accorria_agent.metrics import Metrics
from accorria_agent.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    registry: TaskRegistry
    queue: JobQueue
    intake: WebhookIntake
    http: httpx.AsyncClient
    graph: GraphClient
    cipher: TokenCipher
    metrics: Metrics
    delivery: OutboundDelivery
    composer: ReplyComposer
    clock: Callable[[], datetime] = utcnow
    run_jobs: bool = True

    async def start(self) -> None:
        await self.intake.start()
        if self.run_jobs:
            await self.queue.start()

    async def stop(self) -> None:
        await self.intake.stop()
        if self.run_jobs:
            await self.queue.stop()
        await self.http.aclose()
        await self.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    graph_transport: httpx.AsyncBaseTransport | None = None,
    composer: ReplyComposer | None = None,
    clock: Callable[[], datetime] = utcnow,
    run_jobs: bool = True,
) -> Runtime:
    """Assemble a runtime; ``graph_transport`` lets the demo and tests route Graph calls in-process."""
    install_mode_change_hook()  # analytics' record of takeovers, from every session of this process
    engine = create_engine(settings.effective_database_url)
    factory = create_session_factory(engine)
    registry = TaskRegistry()
    queue = job_queue_for(settings, factory, registry)
    intake = WebhookIntake(engine, queue, quiet_period_seconds=settings.reply_quiet_period_seconds)
    metrics = Metrics()
    # Every Graph call is timed and its errors counted (messenger_graph_* metrics).
    http = httpx.AsyncClient(
        transport=MeteredTransport(
            graph_transport or httpx.AsyncHTTPTransport(), metrics, settings.graph_base_url
        )
    )
    graph = GraphClient(
        settings.graph_base_url,
        http,
        app_secret=settings.facebook_app_secret.get_secret_value(),
        timeout=settings.facebook_graph_timeout_seconds,
    )
    cipher = TokenCipher(settings.encryption_key.get_secret_value())

    async def defer(session: AsyncSession, request: JobRequest) -> None:
        await queue.defer_many(session, [request])

    delivery = OutboundDelivery(
        factory,
        graph,
        cipher,
        metrics,
        clock,
        human_like_delays=settings.human_like_delays,
        defer=defer,
        limiter=_rate_limiter(settings),
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        session_factory=factory,
        registry=registry,
        queue=queue,
        intake=intake,
        http=http,
        graph=graph,
        cipher=cipher,
        metrics=metrics,
        delivery=delivery,
        composer=composer or default_composer(settings),
        clock=clock,
        run_jobs=run_jobs,
    )
    _register_tasks(runtime)
    phraser_metrics = getattr(getattr(runtime.composer, "phraser", None), "metrics", None)
    if phraser_metrics is not None:
        from accorria_agent.metrics import PhraserCollector

        metrics.registry.register(PhraserCollector(phraser_metrics))
    return runtime


def _rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when ``REDIS_URL`` is set (shared by every process), else in this process's memory."""
    if not settings.redis_url:
        return InMemoryRateLimiter()
    from redis.asyncio import Redis

    return RedisRateLimiter(Redis.from_url(settings.redis_url))


def job_queue_for(
    settings: Settings, factory: async_sessionmaker[AsyncSession], registry: TaskRegistry
) -> JobQueue:
    """procrastinate on PostgreSQL (several processes), the embedded queue otherwise (not started)."""
    url = settings.effective_database_url
    postgres = url.startswith("postgresql")
    if settings.job_queue == "procrastinate" or (settings.job_queue == "auto" and postgres):
        if not postgres:
            raise ValueError("JOB_QUEUE=procrastinate needs a PostgreSQL DATABASE_URL")
        from accorria_agent.jobs.procrastinate_queue import ProcrastinateJobQueue

        return ProcrastinateJobQueue(url, registry, concurrency=settings.worker_concurrency)
    return EmbeddedJobQueue(factory, registry, concurrency=settings.worker_concurrency)


def default_composer(settings: Settings) -> ReplyComposer:
    """Negotiation with template replies, or with the guarded LLM phraser when ``OPENAI_API_KEY`` is set."""
    from accorria_agent.conversations.negotiation_composer import NegotiationComposer

    key = settings.openai_api_key.get_secret_value()
    if not key:
        return NegotiationComposer()
    from openai import AsyncOpenAI

    from accorria_agent.negotiation.llm import LlmPhraser

    client = AsyncOpenAI(api_key=key, base_url=settings.openai_base_url or None)
    return NegotiationComposer(
        LlmPhraser(client, settings.openai_model, timeout_s=settings.openai_timeout_seconds)
    )


def _register_tasks(runtime: Runtime) -> None:
    from accorria_agent.conversations.pipeline import process_conversation

    async def _process(args: dict[str, Any]) -> None:
        await process_conversation(runtime, args)

    async def _deliver(args: dict[str, Any]) -> None:
        await runtime.delivery.deliver(int(args["tenant_id"]), [int(m) for m in args["message_ids"]])

    runtime.registry.register(PROCESS_CONVERSATION_TASK, _process)
    runtime.registry.register(DELIVER_OUTBOUND_TASK, _deliver)
