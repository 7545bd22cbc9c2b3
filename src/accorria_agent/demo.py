"""``accorria-agent demo``: the agent and the Messenger simulator in one process, on SQLite.

No Facebook app, no OpenAI key, no database server: a demo seller with one connected (simulated) Page
and one listing. Secrets come from the environment when set; otherwise demo values are generated once,
kept in the data directory (so restarts can still decrypt the stored Page token) and printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.fernet import Fernet
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.app import create_app
from accorria_agent.dashboard.auth import dashboard_link
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.db.migrate import upgrade
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec
from accorria_agent.settings import Settings, normalise_database_url

DEMO_PAGE_ID = "104560000000001"
DEMO_PAGE_NAME = "Accorria Demo Motors"
DEMO_EXTRA_PAGES = (("Demo Lot North", "104560000000002"), ("Demo Lot South", "104560000000003"))
# Where the demo seller shows the car (told to a buyer only once a test drive is booked).
DEMO_MEETING_ADDRESS = "Accorria Demo Motors, 4410 Woodward Ave, Detroit, MI"


class DemoError(Exception):
    """A problem the user can fix (bad listing file, unusable data directory): one line, exit 2."""


@dataclass(frozen=True)
class DemoSecrets:
    app_id: str
    app_secret: str
    verify_token: str
    encryption_key: str
    page_token: str
    jwt_secret: str


def load_listing(path: Path | None) -> ListingSpec:
    """The demo listing: the built-in one, or a JSON/YAML file validated field by field."""
    if path is None:
        return ListingSpec.model_validate(DEMO_LISTING)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DemoError(f"cannot read listing file {path}: {error.strerror}") from None
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise DemoError(f"listing file {path} is not valid JSON/YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise DemoError(f"listing file {path} must contain an object with the listing's fields")
    try:
        return ListingSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        where = f"field '{field}': " if field else ""
        raise DemoError(f"listing file {path}: {where}{first['msg']}") from None


def demo_secrets(data_dir: Path) -> tuple[DemoSecrets, bool]:
    """Secrets from the environment, else those generated on the first run (returns whether generated)."""
    stored_path = data_dir / "demo-secrets.json"
    stored: dict[str, str] = {}
    if stored_path.exists():
        stored = json.loads(stored_path.read_text())
    generated = not stored
    # Data directories made before the seller dashboard lack only the JWT secret: add it, keep the rest.
    if generated or "jwt_secret" not in stored:
        stored = {
            "app_id": str(secrets.randbelow(10**15) + 10**15),
            "app_secret": secrets.token_hex(16),
            "verify_token": secrets.token_urlsafe(16),
            "encryption_key": Fernet.generate_key().decode(),
            "page_token": "EAAdemo" + secrets.token_urlsafe(24),
            "jwt_secret": secrets.token_urlsafe(32),
            **stored,
        }
        data_dir.mkdir(parents=True, exist_ok=True)
        stored_path.write_text(json.dumps(stored))
        stored_path.chmod(0o600)
    env = os.environ
    return (
        DemoSecrets(
            app_id=env.get("FACEBOOK_APP_ID") or stored["app_id"],
            app_secret=env.get("FACEBOOK_APP_SECRET") or stored["app_secret"],
            verify_token=env.get("FACEBOOK_VERIFY_TOKEN") or stored["verify_token"],
            encryption_key=env.get("ENCRYPTION_KEY") or stored["encryption_key"],
            page_token=stored["page_token"],
            jwt_secret=env.get("JWT_SECRET") or stored["jwt_secret"],
        ),
        generated,
    )


async def seed_demo(settings: Settings, spec: ListingSpec, page_token: str, replace_listing: bool) -> int:
    """Create the demo seller, Page and listing once; returns the active listing's id."""
    from accorria_agent.crypto import TokenCipher

    engine = create_engine(settings.effective_database_url)
    cipher = TokenCipher(settings.encryption_key.get_secret_value())
    try:
        async with transaction(create_session_factory(engine)) as session:
            tenant = (
                await session.execute(select(MessengerTenant).where(MessengerTenant.page_id == DEMO_PAGE_ID))
            ).scalar_one_or_none()
            if tenant is None:
                seller = await sellers.create_seller(session, "Demo Seller", "demo@accorria.example")
                tenant = await sellers.connect_page(
                    session,
                    cipher,
                    seller,
                    page_id=DEMO_PAGE_ID,
                    page_name=DEMO_PAGE_NAME,
                    page_access_token=page_token,
                )
                await _demo_availability(session, seller.id, spec)
                return (await sellers.add_listing(session, seller, tenant, spec)).id
            await _demo_availability(session, tenant.seller_id, spec)
            # The token may have been stored under another key (ENCRYPTION_KEY changed): store it again.
            tenant.page_access_token_encrypted = cipher.encrypt(page_token)
            tenant.status = "active"
            current = (
                (
                    await session.execute(
                        select(Listing)
                        .where(Listing.tenant_id == tenant.id, Listing.status == "active")
                        .order_by(Listing.id.desc())
                    )
                )
                .scalars()
                .first()
            )
            if current is not None and not replace_listing:
                return current.id
            if current is not None:
                current.status = "paused"
            seller_row = await session.get(Seller, tenant.seller_id)
            assert seller_row is not None
            return (await sellers.add_listing(session, seller_row, tenant, spec)).id
    finally:
        await engine.dispose()


async def _demo_availability(session: AsyncSession, seller_id: int, spec: ListingSpec) -> None:
    """Test drives for the demo seller: weekdays 9–18 and Saturday 10–16 (its timezone), at the showroom."""
    from accorria_agent.scheduling import service as scheduling

    await scheduling.ensure_availability(
        session, seller_id, place_area=spec.location, place_address=DEMO_MEETING_ADDRESS
    )


def run_demo(
    *, port: int, data_dir: Path, listing_file: Path | None, fast: bool, database_url: str | None = None
) -> None:
    """Prepare the database, print the URLs, and serve agent + simulator until interrupted.

    ``database_url``: run on that database (PostgreSQL: the production path, procrastinate's queue in
    this process) instead of SQLite under ``data_dir`` (which still keeps the demo's secrets).
    """
    import uvicorn

    from accorria_agent.logging_setup import configure_logging, settings_secrets
    from accorria_agent.messenger.page_setup import m_me_link
    from accorria_agent.runtime import Runtime, build_runtime
    from accorria_agent.sellers.service import configure_active_pages
    from accorria_agent.simulator import Simulator, SimulatorConfig
    from accorria_agent.simulator.escrow import EscrowStandIn
    from accorria_agent.simulator.mailbox import LocalMailbox, build_mailbox_router

    spec = load_listing(listing_file)
    data_dir = data_dir.expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DemoError(f"cannot create data directory {data_dir}: {error.strerror}") from None
    demo, generated = demo_secrets(data_dir)
    base = f"http://127.0.0.1:{port}"
    # The seller's mailbox: a real local SMTP server the agent mails to (shown at /simulator/mailbox).
    mailbox = LocalMailbox().start()
    settings = Settings(
        _env_file=None,
        ACCORRIA_ENV="development",
        ACCORRIA_DATA_DIR=str(data_dir),
        DATABASE_URL=normalise_database_url(database_url) if database_url else "",
        FACEBOOK_APP_ID=demo.app_id,
        FACEBOOK_APP_SECRET=demo.app_secret,
        FACEBOOK_VERIFY_TOKEN=demo.verify_token,
        FACEBOOK_GRAPH_URL=f"{base}/graph",
        FACEBOOK_LOGIN_URL=f"{base}/simulator/oauth/dialog",
        ENCRYPTION_KEY=demo.encryption_key,
        JWT_SECRET=demo.jwt_secret,
        OPENAI_API_KEY=os.environ.get("OPENAI_API_KEY", ""),
        OPENAI_BASE_URL=os.environ.get("OPENAI_BASE_URL", ""),
        OPENAI_MODEL=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        HUMAN_LIKE_DELAYS=not fast,
        REPLY_QUIET_PERIOD_SECONDS=0.0 if fast else 2.0,
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        SMTP_URL=mailbox.url,
        SMTP_STARTTLS="off",
        PUBLIC_BASE_URL=base,
        # Escrow goes to the simulator's stand-in; both ends live in this process, so a fresh secret
        # per run is enough (the stand-in keeps its transactions in memory too).
        ACCORRIA_API_URL=f"{base}/simulator/escrow",
        ACCORRIA_API_KEY="demo-escrow-key",
        ACCORRIA_WEBHOOK_SECRET=secrets.token_hex(16),
    )
    configure_logging(settings.log_level, json_output=False, secrets=settings_secrets(settings))
    try:
        upgrade(settings.effective_database_url)
    except Exception as error:  # unreachable server, wrong credentials, no such database …
        first_line = (str(error).splitlines() or [type(error).__name__])[0][:300]
        raise DemoError(f"cannot prepare the database: {first_line}") from None
    listing_id = asyncio.run(
        seed_demo(settings, spec, demo.page_token, replace_listing=listing_file is not None)
    )

    # Jobs (the replies) in a child process started and stopped with this one: the simulator's webhook
    # and pages stay fast while it works (docs/benchmarks.md, "one-process deployment").
    runtime = build_runtime(settings, jobs_in_child=True, json_logs=False)
    simulator = Simulator(
        SimulatorConfig(
            app_id=demo.app_id,
            app_secret=demo.app_secret,
            page_id=DEMO_PAGE_ID,
            page_name=DEMO_PAGE_NAME,
            page_access_token=demo.page_token,
            listing_id=listing_id,
            webhook_url=f"{base}/webhook",
            graph_version=settings.facebook_graph_version,
        ),
        httpx.AsyncClient(timeout=30.0),
    )

    # The simulated Facebook user manages two more Pages, to connect through the Login dialog.
    for name, page_id in DEMO_EXTRA_PAGES:
        simulator.state.add_page(name, page_id)

    async def configure_demo_page(started: Runtime) -> None:
        await asyncio.sleep(0.5)  # let uvicorn start listening: the simulator's Graph API is this server
        await configure_active_pages(started.session_factory, started.cipher, started.graph)

    app = create_app(runtime, on_started=configure_demo_page, tune_gc=True)
    app.include_router(simulator.graph_router, prefix="/graph")
    app.include_router(simulator.ui_router, prefix="/simulator")
    app.include_router(build_mailbox_router(mailbox), prefix="/simulator")
    escrow = EscrowStandIn(
        public_base=base,
        webhook_url=f"{base}/escrow/webhook",
        webhook_secret=settings.accorria_webhook_secret.get_secret_value(),
        deliver_client=httpx.AsyncClient(timeout=30.0),
        clock=runtime.clock,
        api_key=settings.accorria_api_key.get_secret_value(),
    )
    app.include_router(escrow.router, prefix="/simulator")
    app.router.add_api_route("/", lambda: RedirectResponse("/simulator/"), include_in_schema=False)

    where = (
        "PostgreSQL" if settings.effective_database_url.startswith("postgresql") else f"SQLite in {data_dir}"
    )
    print(f"Accorria Messenger Agent demo — data in {where}")
    if generated:
        print("Generated demo secrets (kept in demo-secrets.json; set FACEBOOK_APP_SECRET etc. to override):")
        print(f"  FACEBOOK_APP_ID={demo.app_id}")
        print(f"  FACEBOOK_VERIFY_TOKEN={demo.verify_token}")
    print(f"  Buyer chat (simulator):   {base}/simulator/")
    print(f"  Seller's Page Inbox:      {base}/simulator/inbox")
    link = asyncio.run(dashboard_link(settings, base, DEMO_PAGE_ID, timedelta(hours=1)))
    print(f"  Seller dashboard:         {link or '(no demo Page)'}  (one-time link, 1 hour)")
    print(f"  Sign up / sign in:        {base}/auth/")
    print(f"  Seller's mailbox:         {base}/simulator/mailbox")
    print(f"  Simulator JSON API:       {base}/simulator/api/state")
    print(f"  Webhook:                  {base}/webhook")
    print(f"  Escrow stand-in (JSON):   {base}/simulator/api/escrow")
    print(f"  m.me link of the listing: {m_me_link(DEMO_PAGE_ID, listing_id)}")
    print(f"  Health:                   {base}/healthz")
    print(
        f"  Listing #{listing_id}: {spec.year} {spec.make} {spec.model}, asking ${spec.asking_price:,.0f}"
        f"{' (fast: no delays)' if fast else ''}"
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
