"""The runtime: every long-lived object of one process, built once from settings, started and stopped.

Web handlers reach it as ``request.app.state.runtime``; jobs receive it. External systems (Graph API,
LLM) are injected here, which is how tests and the demo swap them for the simulator and fakes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accorria_agent.conversations import tasks as conversation_tasks
from accorria_agent.conversations.composer import ReplyComposer
from accorria_agent.conversations.context import ConversationDeps, HandlerContext
from accorria_agent.conversations.hooks import TurnHook
from accorria_agent.conversations.mode_changes import install_mode_change_hook
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.escrow.client import AccorriaEscrowClient
from accorria_agent.escrow.interface import EscrowProvider
from accorria_agent.job_process import JobProcess
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.jobs.interface import JobQueue, JobRequest, TaskRegistry
from accorria_agent.jobs.periodic import PeriodicJob, PeriodicScheduler
from accorria_agent.live import bus as live_bus
from accorria_agent.mail.interface import InMemoryMailer, Mailer
from accorria_agent.mail.smtp import mailer_from_settings
from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.graph_metrics import MeteredTransport
from accorria_agent.messenger.intake import JobTables, WebhookIntake
from accorria_agent.messenger.rate_limit import InMemoryRateLimiter, RateLimiter, RedisRateLimiter
from accorria_agent.metrics import Metrics
from accorria_agent.notifications.tasks import NotificationLoop
from accorria_agent.sending import tasks as sending_tasks
from accorria_agent.sending.delivery import OutboundDelivery
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
    escrow: EscrowProvider
    clock: Callable[[], datetime] = utcnow
    run_jobs: bool = True
    # Built from SMTP_URL (in memory when unset); the demo points it at its local SMTP server.
    mailer: Mailer = field(default_factory=InMemoryMailer)
    # Domains taking part in each conversation turn, in order (see conversations.hooks.TurnHook).
    turn_hooks: list[TurnHook] = field(default_factory=list)
    periodic: PeriodicScheduler | None = None
    # Delivers seller notifications by email / webhook (rows claimed with SKIP LOCKED: any number of
    # processes may run it, each notification goes out once).
    notifications: NotificationLoop | None = None
    # The one-process deployment's jobs (``serve --with-jobs``, ``demo``): a child process this runtime
    # starts and stops (run_jobs is then False here: the web's loop only answers requests).
    job_process: JobProcess | None = None

    @property
    def conversation_deps(self) -> ConversationDeps:
        """What the conversation job uses, read from this runtime now (tests swap parts of it)."""
        return ConversationDeps(
            session_factory=self.session_factory,
            queue=self.queue,
            sender=self.delivery,
            composer=self.composer,
            clock=self.clock,
            default_timezone=self.settings.default_timezone,
            human_like_delays=self.settings.human_like_delays,
            handlers=HandlerContext(facebook_app_id=self.settings.facebook_app_id),
            turn_hooks=tuple(self.turn_hooks),
        )

    async def start(self) -> None:
        await self.intake.start()
        if self.job_process is not None:
            await self.job_process.start()
        if self.run_jobs:
            await self.queue.start()
            if self.periodic is not None:
                await self.periodic.start()
            if self.notifications is not None:
                self.notifications.start()

    def freeze_startup_objects(self) -> None:
        """Move everything alive after start-up (modules, the app, mappers, compiled SQL) out of the
        garbage collector's reach: a full collection otherwise traverses these ~200,000 long-lived
        objects about once a second under load (~0.1 s each, measured on the web process)."""
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        await self.intake.stop()
        if self.job_process is not None:
            await self.job_process.stop()
        if self.run_jobs:
            if self.periodic is not None:
                await self.periodic.stop()
            if self.notifications is not None:
                await self.notifications.stop()
            await self.queue.stop()
        await self.http.aclose()
        await live_bus.close(self.engine)
        await self.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    graph_transport: httpx.AsyncBaseTransport | None = None,
    composer: ReplyComposer | None = None,
    clock: Callable[[], datetime] = utcnow,
    run_jobs: bool = True,
    jobs_in_child: bool = False,
    json_logs: bool = True,
) -> Runtime:
    """Assemble a runtime; ``graph_transport`` lets the demo and tests route Graph calls in-process.

    ``jobs_in_child``: the jobs run in a child process this runtime starts and stops (see
    ``job_process``), not in this one (``run_jobs`` is then ignored); ``json_logs`` is the child's format.
    """
    if jobs_in_child:
        run_jobs = False
    install_mode_change_hook()  # analytics' record of takeovers, from every session of this process
    engine = create_engine(settings.effective_database_url)
    factory = create_session_factory(engine)
    registry = TaskRegistry()
    queue = job_queue_for(settings, factory, registry)
    intake = WebhookIntake(
        engine,
        queue,
        quiet_period_seconds=settings.reply_quiet_period_seconds,
        job_tables=_job_tables(queue),
    )
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
        escrow=AccorriaEscrowClient(
            settings.accorria_api_url,
            settings.accorria_api_key.get_secret_value(),
            http,
            timeout=settings.accorria_api_timeout_seconds,
        ),
        clock=clock,
        run_jobs=run_jobs,
        mailer=mailer_from_settings(
            settings.smtp_url.get_secret_value(),
            settings.mail_from,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        ),
    )
    if jobs_in_child:
        runtime.job_process = _job_process(runtime, json_logs)
    _register_tasks(runtime)
    _register_periodic(runtime)
    _install_turn_hooks(runtime)
    runtime.notifications = NotificationLoop(
        runtime.session_factory, runtime.mailer, runtime.http, runtime.cipher, runtime.clock
    )
    phraser_metrics = getattr(getattr(runtime.composer, "phraser", None), "metrics", None)
    if phraser_metrics is not None:
        from accorria_agent.metrics import PhraserCollector

        metrics.registry.register(PhraserCollector(phraser_metrics))
    return runtime


def _job_process(runtime: Runtime, json_logs: bool) -> JobProcess:
    """The job child of this runtime; on the embedded queue it is woken by ``notify`` and its live events
    come back to this process's hub (SQLite has no channel between processes)."""
    live_sink = None
    if isinstance(runtime.queue, EmbeddedJobQueue):
        live_sink = live_bus.hub_for(runtime.engine).publish
    process = JobProcess(runtime.settings, live_sink=live_sink, json_logs=json_logs)
    if isinstance(runtime.queue, EmbeddedJobQueue):
        runtime.queue.wake_elsewhere = process.wake
    return process


def _install_turn_hooks(runtime: Runtime) -> None:
    """The domains that take part in a conversation turn, in the order they run."""
    from accorria_agent.deals.hook import DealsHook
    from accorria_agent.questions.hook import QuestionsHook
    from accorria_agent.scheduling.hook import SchedulingHook

    runtime.turn_hooks.append(QuestionsHook())
    runtime.turn_hooks.append(DealsHook(runtime.queue))
    # Last: after a price is agreed, a proposed time becomes a booking that the reply then states.
    runtime.turn_hooks.append(
        SchedulingHook(runtime.queue, reminder_minutes=runtime.settings.test_drive_reminder_minutes)
    )


def _rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when ``REDIS_URL`` is set (shared by every process), else in this process's memory."""
    if not settings.redis_url:
        return InMemoryRateLimiter()
    from redis.asyncio import Redis

    return RedisRateLimiter(Redis.from_url(settings.redis_url))


def _job_tables(queue: JobQueue) -> JobTables:
    """Tell the intake which queue table its fast path may write (the root knows the concrete queue)."""
    if isinstance(queue, EmbeddedJobQueue):
        return JobTables(embedded=True)
    from accorria_agent.jobs.procrastinate_queue import ProcrastinateJobQueue

    if isinstance(queue, ProcrastinateJobQueue):
        return JobTables(procrastinate_queue=queue.queue_name, job_arrays=queue.defer_arrays)
    return JobTables()


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
    from accorria_agent.negotiation.llm_reader import LlmReader

    client = AsyncOpenAI(api_key=key, base_url=settings.openai_base_url or None)
    return NegotiationComposer(
        LlmPhraser(client, settings.openai_model, timeout_s=settings.openai_timeout_seconds),
        reader=LlmReader(client, settings.openai_model, timeout_s=settings.openai_timeout_seconds),
    )


def _register_tasks(runtime: Runtime) -> None:
    """Each domain registers its own jobs; the conversation job reads its dependencies per run."""
    from accorria_agent.accounts.emails import SEND_ACCOUNT_MAIL_TASK
    from accorria_agent.accounts.tasks import send_outbox_mail

    conversation_tasks.register(runtime.registry, lambda: runtime.conversation_deps)
    sending_tasks.register(runtime.registry, runtime.delivery)

    async def _send_account_mail(args: dict[str, Any]) -> None:
        await send_outbox_mail(runtime.session_factory, runtime.mailer, args)

    runtime.registry.register(SEND_ACCOUNT_MAIL_TASK, _send_account_mail)


def _register_periodic(runtime: Runtime) -> None:
    """Token health every ``TOKEN_HEALTH_INTERVAL_SECONDS`` (0 disables it)."""
    from accorria_agent.pages.tasks import TOKEN_HEALTH_TASK, check_token_health

    async def _token_health(_args: dict[str, Any]) -> None:
        await check_token_health(
            runtime.session_factory,
            runtime.graph,
            runtime.cipher,
            runtime.settings,
            runtime.clock,
            runtime.mailer,
        )

    runtime.registry.register(TOKEN_HEALTH_TASK, _token_health)

    async def _sweep_stale_claims(_args: dict[str, Any]) -> None:
        await sending_tasks.sweep_stale_claims(runtime.session_factory, runtime.queue, runtime.clock)

    runtime.registry.register(sending_tasks.SWEEP_STALE_CLAIMS_TASK, _sweep_stale_claims)
    runtime.periodic = PeriodicScheduler(
        runtime.queue,
        runtime.session_factory,
        [
            PeriodicJob(TOKEN_HEALTH_TASK, runtime.settings.token_health_interval_seconds),
            PeriodicJob(
                sending_tasks.SWEEP_STALE_CLAIMS_TASK, sending_tasks.SWEEP_STALE_CLAIMS_INTERVAL_SECONDS
            ),
        ],
    )

    from accorria_agent.privacy.tasks import PURGE_TASK, purge_and_reschedule

    async def _purge(_args: dict[str, Any]) -> None:
        await purge_and_reschedule(
            runtime.session_factory, runtime.queue, runtime.clock, runtime.settings.retention_days
        )

    runtime.registry.register(PURGE_TASK, _purge)


    from accorria_agent.scheduling import tasks as scheduling_tasks

    async def _remind(args: dict[str, Any]) -> None:
        await scheduling_tasks.remind(runtime.session_factory, runtime.queue, args, runtime.clock())

    async def _invite(args: dict[str, Any]) -> None:
        await scheduling_tasks.send_invitation(runtime.session_factory, runtime.mailer, args)

    runtime.registry.register(scheduling_tasks.REMIND_TASK, _remind)
    runtime.registry.register(scheduling_tasks.INVITATION_TASK, _invite)

    from accorria_agent.deals.service import START_ESCROW_TASK
    from accorria_agent.deals.tasks import start_escrow

    async def _start_escrow(args: dict[str, Any]) -> None:
        await start_escrow(runtime, args)

    runtime.registry.register(START_ESCROW_TASK, _start_escrow)
