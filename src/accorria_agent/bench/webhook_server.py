"""The two servers ``bench webhook`` compares, as uvicorn app factories (run in their own process).

* ``bare_app``: a FastAPI endpoint that reads the body and checks its signature, nothing else.
* ``agent_app``: the real service (durable intake, job processing, replies to an in-memory Graph API);
  ``BENCH_RUN_JOBS=1`` runs the jobs in its event loop, ``BENCH_JOBS_IN_CHILD=1`` in a child process (the
  shape of ``serve --with-jobs`` and ``demo``).

Configuration comes from the environment the benchmark sets for the child process.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from accorria_agent.app import create_app
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.logging_setup import configure_logging
from accorria_agent.messenger.signature import SIGNATURE_HEADER, is_valid_signature
from accorria_agent.runtime import build_runtime
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec
from accorria_agent.settings import Settings

BENCH_PAGE_ID = "900000001"


def bare_app() -> FastAPI:
    """The baseline: signature check only."""
    secret = os.environ["FACEBOOK_APP_SECRET"]
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not is_valid_signature(body, request.headers.get(SIGNATURE_HEADER), secret):
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse("EVENT_RECEIVED")

    return app


_sent = itertools.count(1)
# Message ids must stay unique across the benchmark's server processes (they share one database).
_RUN = uuid.uuid4().hex[:8]


def graph_app() -> FastAPI:
    """A stand-in Graph API that accepts every send and remembers when each message arrived.

    ``GET /_received`` returns ``[[recipient, unix_time, metadata], …]`` for end-to-end latency.
    """
    app = FastAPI()
    received: list[tuple[str, float, str | None]] = []

    @app.get("/_received")
    async def received_messages() -> Response:
        return JSONResponse(received)

    @app.post("/{version}/me/messages")
    async def send(version: str, request: Request) -> Response:
        arrived = time.time()
        body = await request.json()
        recipient = str(body.get("recipient", {}).get("id", ""))
        if "sender_action" in body:
            return JSONResponse({"recipient_id": recipient})
        received.append((recipient, arrived, body.get("message", {}).get("metadata")))
        return JSONResponse({"recipient_id": recipient, "message_id": f"m_bench_{_RUN}_{next(_sent)}"})

    return app


def _graph_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"recipient_id": "x", "message_id": f"m_bench_{_RUN}_{next(_sent)}"})


async def seed_bench_tenant(
    settings: Settings, rate_limits: tuple[int, int, int] | None = (10**9, 10**9, 10**9)
) -> None:
    """Create the benchmark's seller, Page and listing (run by the parent before the server starts).

    ``rate_limits``: the Page's per-minute/hour/day send limits; by default none that matter (the
    benchmark measures the service, not Meta's limits); ``None`` keeps the Page defaults (``bench burst``).
    """
    engine = create_engine(settings.effective_database_url)
    cipher = TokenCipher(settings.encryption_key.get_secret_value())
    async with transaction(create_session_factory(engine)) as session:
        seller = await sellers.create_seller(session, "Bench Seller")
        tenant = await sellers.connect_page(
            session,
            cipher,
            seller,
            page_id=BENCH_PAGE_ID,
            page_name="Bench",
            page_access_token="bench-token",
            human_like_delays=False,
            rate_limits=rate_limits,
        )
        await sellers.add_listing(session, seller, tenant, ListingSpec.model_validate(DEMO_LISTING))
    await engine.dispose()


def agent_app() -> FastAPI:
    """The real service on the configured database, with one seeded Page and a fake Graph API."""
    settings = Settings(_env_file=None)
    configure_logging(settings.log_level)
    run_jobs = os.environ.get("BENCH_RUN_JOBS", "1") == "1"
    # The one-process deployment as `serve --with-jobs` and `demo` run it: jobs in a child process.
    jobs_in_child = os.environ.get("BENCH_JOBS_IN_CHILD", "0") == "1"
    # With a Graph stand-in server configured, replies go to it over HTTP (end-to-end benchmarks);
    # otherwise an in-memory transport answers (ingest benchmarks).
    transport = (
        None if settings.facebook_graph_url.startswith("http://127.0.0.1") else httpx.MockTransport(_graph_ok)
    )
    runtime = build_runtime(
        settings, graph_transport=transport, run_jobs=run_jobs, jobs_in_child=jobs_in_child
    )
    return create_app(runtime, tune_gc=True)  # a server process of its own, as `serve` is
