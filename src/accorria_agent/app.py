"""The FastAPI application factory (web process: webhook, health, metrics, and optionally the simulator)."""

from __future__ import annotations

import asyncio
import gc
import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from accorria_agent import __version__
from accorria_agent.accounts.audit_routes import router as audit_router
from accorria_agent.accounts.routes import router as accounts_router
from accorria_agent.analytics.operations import refresh_gauges
from accorria_agent.analytics.routes import router as analytics_router
from accorria_agent.dashboard.draft_routes import router as draft_router
from accorria_agent.dashboard.live_routes import router as live_router
from accorria_agent.dashboard.routes import router as dashboard_router
from accorria_agent.deals.routes import router as deals_router
from accorria_agent.errors import DomainError
from accorria_agent.http_hardening import (
    HardeningMiddleware,
    HardeningPolicy,
    refusal,
    security_headers,
    validation_error_handler,
)
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.listings.routes import api as listings_api
from accorria_agent.listings.routes import pages as listings_pages
from accorria_agent.messenger.routes import WebhookEndpoint
from accorria_agent.messenger.routes import router as webhook_router
from accorria_agent.notifications.routes import router as notifications_router
from accorria_agent.pages.routes import router as pages_router
from accorria_agent.privacy.routes import router as privacy_router
from accorria_agent.questions.routes import router as questions_router
from accorria_agent.runtime import Runtime
from accorria_agent.scheduling.routes import router as scheduling_router

log = structlog.get_logger(__name__)

# The web process's youngest-generation threshold (CPython's default: 700). A webhook allocates a few
# hundred container objects that reference counting frees; at 700 the collector still ran every ~14
# requests (0.3–0.9 ms each, 5–10 % of the web's CPU in `bench webhook`). At 50,000 it ran none in 8,000
# requests, and what it would find (garbage cycles) is bounded to a few megabytes.
WEB_GC_YOUNG_THRESHOLD = 50_000


def tune_gc_for_requests() -> None:
    """Collect the youngest generation rarely (see ``WEB_GC_YOUNG_THRESHOLD``); older ones as before."""
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(WEB_GC_YOUNG_THRESHOLD, middle, old)


def create_app(
    runtime: Runtime,
    *,
    manage_runtime: bool = True,
    on_started: Callable[[Runtime], Coroutine[Any, Any, object]] | None = None,
    tune_gc: bool = False,
) -> FastAPI:
    """The web app around ``runtime``; with ``manage_runtime`` the app's lifespan starts and stops it.

    ``on_started`` runs in the background once the runtime is up (the server may not listen yet).
    ``tune_gc``: a server process of its own (``serve``, ``demo``) collects its youngest generation
    rarely (see ``WEB_GC_YOUNG_THRESHOLD``); not for apps inside a test process, where prompt collection
    of what a test left behind (an engine, a connection holding a lock) keeps the next test unblocked.
    """
    background: set[asyncio.Task[object]] = set()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
            runtime.freeze_startup_objects()  # a process of its own (serve, demo): see the method
        if tune_gc:
            tune_gc_for_requests()
        if on_started is not None:
            task: asyncio.Task[object] = asyncio.create_task(on_started(runtime))
            background.add(task)
            task.add_done_callback(background.discard)
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    settings = runtime.settings
    production = settings.accorria_env == "production"
    # The API's map is for developers: in production nobody gets it (docs/security.md).
    docs: dict[str, Any] = {"docs_url": None, "redoc_url": None, "openapi_url": None} if production else {}
    app = AgentApp(title="Accorria Messenger Agent", version=__version__, lifespan=lifespan, **docs)
    app.state.runtime = runtime
    webhook_headers = security_headers("/webhook", production=production)
    app.webhook = WebhookEndpoint(
        lambda: app.state.runtime,
        webhook_headers,
        lambda status, detail, code: refusal(status, detail, code, webhook_headers),
    )
    install_error_handlers(app)
    app.add_middleware(
        HardeningMiddleware,
        policy=HardeningPolicy(
            webhook_max_body_bytes=settings.webhook_max_body_bytes,
            api_max_body_bytes=settings.api_max_body_bytes,
            max_body_bytes=settings.max_body_bytes,
            production=production,
            upload_max_body_bytes=settings.photo_max_bytes + 64 * 1024,
        ),
    )
    app.include_router(webhook_router)
    app.include_router(dashboard_router)
    app.include_router(draft_router)
    app.include_router(listings_api)
    app.include_router(listings_pages)
    app.include_router(live_router)
    app.include_router(accounts_router)
    app.include_router(audit_router)
    app.include_router(pages_router)
    app.include_router(privacy_router)
    app.include_router(questions_router)
    app.include_router(scheduling_router)
    app.include_router(deals_router)
    app.include_router(analytics_router)
    app.include_router(notifications_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        """200 when the database answers, 503 otherwise."""
        try:
            async with runtime.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics; in production only with ``Authorization: Bearer <METRICS_TOKEN>``."""
        if production and not _metrics_authorised(request, settings.metrics_token.get_secret_value()):
            # Without a configured token the endpoint does not exist in production.
            return JSONResponse({"detail": "not found", "code": "not_found"}, status_code=404)
        return await render_metrics(runtime)

    return app


async def render_metrics(runtime: Runtime) -> Response:
    """The Prometheus text of ``runtime``: its counters, and gauges read from the database now."""
    try:
        async with runtime.session_factory() as session:
            await refresh_gauges(
                session,
                runtime.metrics,
                runtime.clock(),
                procrastinate=not isinstance(runtime.queue, EmbeddedJobQueue),
            )
    except Exception as error:  # the counters are still worth serving while the database is away
        runtime.metrics.errors.labels(type="metrics_database").inc()
        log.warning("metrics_gauges_unavailable", error=type(error).__name__)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def create_metrics_app(runtime: Runtime) -> FastAPI:
    """A process's ``/metrics`` alone (the worker serves it on its own port)."""
    app = FastAPI(title="Accorria worker metrics", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return await render_metrics(runtime)

    return app


def _metrics_authorised(request: Request, token: str) -> bool:
    if not token:
        return False
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


class AgentApp(FastAPI):
    """The FastAPI app with Meta's deliveries (``POST /webhook``) served ahead of its routing and middleware
    (see :class:`~accorria_agent.messenger.routes.WebhookEndpoint`); any other request goes the usual way."""

    webhook: WebhookEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.webhook is not None and scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if path == "/webhook" or (root and path == root + "/webhook"):  # behind a proxy's path prefix
                await self.webhook(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Every :class:`~accorria_agent.errors.DomainError` becomes ``{"detail", "code"}`` with its status."""

    async def on_domain_error(_request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        return JSONResponse(
            {"detail": error.detail, "code": error.code},
            status_code=error.status_code,
            headers=error.headers or None,
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
