"""Tenant isolation, proved for every route of the app, on SQLite and PostgreSQL.

Every route is enumerated (all methods). A route is either **public** (an explicit allow-list: webhook,
health, metrics, simulator, sign-in, Facebook callbacks, the static dashboard page) or **protected** (its
dependencies include the session check). Anything else fails the test, so no future route escapes it.

Each protected route is called as seller B with seller A's ids — in the path, the query and the body,
taken from :data:`A_IDS` by parameter name. Every such answer must be 404 or 403; routes that take no id
of A may answer B, but never with A's data. Afterwards every row of A is exactly as before. A parameter
that no entry of :data:`A_IDS` (nor a table holding A's rows) explains fails the test too: whoever adds
``/api/bookings/{booking_id}`` teaches this test where A's booking id comes from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import params
from pydantic import BaseModel
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from accorria_agent.accounts.context import current_member, require_owner
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.dashboard.auth import current_seller, issue_seller_token
from accorria_agent.db.base import Base
from accorria_agent.db.engine import transaction
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.listings.models import ListingPhoto
from accorria_agent.questions.models import ListingFact, SellerQuestion
from accorria_agent.scheduling.models import Booking
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification, notify_seller
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import Harness, harness, seed
from tests.privacy.support import buyer_writes

Make = Callable[..., Settings]

# Routes anyone may call: Meta's (signature-checked), health, the simulator, sign-in and the static page.
PUBLIC_PREFIXES = (
    "/webhook",
    "/healthz",
    "/metrics",
    "/simulator",
    "/graph",
    "/api/auth/",
    "/facebook/",
    "/connect/facebook",
    "/dashboard",
    "/docs",
    "/redoc",
    "/openapi.json",
    # Public by design, each guarded by a secret of its own: unguessable photo keys (Messenger fetches
    # attachments by URL), single-use emailed tokens, a calendar feed's secret URL, a signed webhook.
    "/media/photos/",
    "/listings/static/",
    "/auth/",
    "/calendar/",
    "/escrow/webhook",
)
PUBLIC_EXACT = frozenset({"/"})
# The dependencies that mean "a signed-in member of an account" (the interim bearer check included).
SESSION_CHECKS = frozenset({current_member, require_owner, current_seller})
A_MARKER = "A-PRIVATE-MARKER buyer text"
# Rows the notification loop writes on its own schedule (A's own notifications being mailed to A).
WRITTEN_IN_THE_BACKGROUND = frozenset({"notification_deliveries", "notification_dispatch_state"})
# Server-Sent Events: only the refusal without a session is checked here (the stream never ends).
STREAMING = frozenset({"/api/live"})
# A 1×1 PNG: what an upload route gets, so that only ownership can refuse it.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
    "00000301010018dd8db40000000049454e44ae426082"
)
B_PAGE = "900800700"
A_BUYER = "7001"


@dataclass
class Seeded:
    seller_id: int
    tenant_id: int
    page_id: str
    listing_id: int
    conversation_id: int
    message_id: int
    notification_id: int
    deal_id: int
    psid: str
    photo_id: int = 0
    fact_id: int = 0
    question_id: int = 0
    booking_id: int = 0


# How A's id is obtained for each parameter name (path, query or body field).
A_IDS: dict[str, Callable[[Seeded], Any]] = {
    "conversation_id": lambda a: a.conversation_id,
    "listing_id": lambda a: a.listing_id,
    "tenant_id": lambda a: a.tenant_id,
    "page_id": lambda a: a.page_id,
    "notification_id": lambda a: a.notification_id,
    "message_id": lambda a: a.message_id,
    "deal_id": lambda a: a.deal_id,
    "photo_id": lambda a: a.photo_id,
    "fact_id": lambda a: a.fact_id,
    "question_id": lambda a: a.question_id,
    "id": lambda a: a.question_id,  # POST /api/questions/{id}/answer
    "booking_id": lambda a: a.booking_id,
    "seller_id": lambda a: a.seller_id,
    "member_id": lambda a: a.seller_id,  # today's members are their account's owner (same id)
    "psid": lambda a: a.psid,
}
# Parameters that name no one's data (pagination, filters, a static file's name).
NEUTRAL = frozenset(
    {
        "error",
        "state",
        "code",
        "rerequest",
        "limit",
        "offset",
        "unread",
        "name",
        "before",
        "after",
        "cursor",
        "q",
        "status",
        "status_filter",
        "from_",
        "to",
        "date_from",
        "date_to",
        "from",
        "kind",
        "needs_me",
        "handed_off",
        "deals",
        "assigned",
    }
)


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    route: Any
    protected: bool


def _calls(dependant: Any) -> Iterator[Any]:
    for child in getattr(dependant, "dependencies", []) or []:
        yield getattr(child, "call", None)
        yield from _calls(child)


def endpoints(routes: list[Any], prefix: str = "", inherited: tuple[Any, ...] = ()) -> Iterator[Endpoint]:
    """Every (path, method) of the app, included routers flattened, with whether a session is required."""
    for route in routes:
        context = getattr(route, "include_context", None)
        if hasattr(route, "original_router") and context is not None:  # FastAPI's lazily included router
            deps = tuple(getattr(d, "dependency", None) for d in context.dependencies)
            yield from endpoints(route.original_router.routes, prefix + context.prefix, inherited + deps)
            continue
        if not hasattr(route, "methods") and hasattr(route, "routes"):  # a Mount
            yield from endpoints(route.routes, prefix + route.path, inherited)
            continue
        calls = set(inherited) | set(_calls(getattr(route, "dependant", None)))
        calls |= {getattr(d, "dependency", None) for d in getattr(route, "dependencies", []) or []}
        for method in sorted(route.methods or []):
            if method in {"HEAD", "OPTIONS"}:
                continue
            yield Endpoint(prefix + route.path, method, route, bool(calls & SESSION_CHECKS))


def is_public(path: str) -> bool:
    return path in PUBLIC_EXACT or path.startswith(PUBLIC_PREFIXES)


def _a_value(name: str, a: Seeded, where: str) -> Any:
    if name in A_IDS:
        return A_IDS[name](a)
    raise AssertionError(
        f"{where}: parameter {name!r} is unknown to the isolation test; add to A_IDS how seller A's "
        "value is obtained (and seed that data for A), or to NEUTRAL if it names no one's data"
    )


def _example(schema: dict[str, Any], defs: dict[str, Any], a: Seeded, where: str, name: str = "") -> Any:
    """A value valid for ``schema``, with A's ids wherever a field names one."""
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, a, where, name)
    if name in A_IDS:
        return _a_value(name, a, where)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _example(options[0], defs, a, where, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            field: _example(properties[field], defs, a, where, field)
            for field in properties
            if field in schema.get("required", []) or field in A_IDS
        }
    if kind == "array":  # as few items as the schema allows (a required list may not be empty)
        return [_example(schema.get("items", {}), defs, a, where, name)] * int(schema.get("minItems", 0))
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return "x" * max(1, int(schema.get("minLength", 1)))


def request_for(endpoint: Endpoint, a: Seeded) -> tuple[str, dict[str, Any], Any, bool]:
    """(url, query, json body, whether it names A's data) for calling ``endpoint`` with A's ids."""
    where = f"{endpoint.method} {endpoint.path}"
    names_a = False
    path = endpoint.path
    for name in re.findall(r"{(\w+)(?::\w+)?}", endpoint.path):
        value = _a_value(name, a, where)
        names_a = True
        path = re.sub(r"{" + name + r"(?::\w+)?}", str(value), path)
    query: dict[str, Any] = {}
    dependant = getattr(endpoint.route, "dependant", None)
    for param in getattr(dependant, "query_params", []) or []:
        if param.name in NEUTRAL and param.name not in A_IDS:
            continue
        query[param.name] = _a_value(param.name, a, where)
        names_a = True
    body: Any = None
    field = getattr(endpoint.route, "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        schema = annotation.model_json_schema()
        body = _example(schema, schema.get("$defs", {}), a, where)
        names_a = names_a or any(key in A_IDS for key in body)
    return path, query, body, names_a


def files_for(endpoint: Endpoint) -> dict[str, tuple[str, bytes, str]] | None:
    """A small valid image for each uploaded-file parameter (multipart routes), else None."""
    dependant = getattr(endpoint.route, "dependant", None)
    uploads = [
        p.name for p in getattr(dependant, "body_params", []) or [] if isinstance(p.field_info, params.File)
    ]
    return dict.fromkeys(uploads, ("car.png", TINY_PNG, "image/png")) or None


async def _seed_a(h: Harness) -> Seeded:
    await buyer_writes(h, A_BUYER, f"{A_MARKER}: would you take 9000?")
    async with transaction(h.runtime.session_factory) as session:
        tenant = await session.get(MessengerTenant, h.tenant_id)
        assert tenant is not None
        conversation = (
            await session.execute(select(Conversation).where(Conversation.tenant_id == h.tenant_id))
        ).scalar_one()
        message = (
            (await session.execute(select(Message).where(Message.conversation_id == conversation.id)))
            .scalars()
            .first()
        )
        assert message is not None
        note = await notify_seller(session, h.tenant_id, conversation.id, "handoff", f"{A_MARKER} note")
        deal = Deal(
            seller_id=tenant.seller_id,
            tenant_id=h.tenant_id,
            conversation_id=conversation.id,
            listing_id=h.listing_id,
            status="agreed",
            agreed_price=Decimal("9000.00"),
        )
        session.add(deal)
        await session.flush()
        session.add(
            DealEvent(
                seller_id=tenant.seller_id,
                tenant_id=h.tenant_id,
                deal_id=deal.id,
                conversation_id=conversation.id,
                kind="price_agreed",
                actor_kind="bot",
                amount=Decimal("9000.00"),
            )
        )
        await session.flush()
        # One row of each other kind that a route can name by id, so a 404 means "not yours".
        photo = ListingPhoto(
            seller_id=tenant.seller_id, listing_id=h.listing_id, key="A" * 32, width=1, height=1, size_bytes=1
        )
        fact = ListingFact(listing_id=h.listing_id, topic="rust", answer=f"{A_MARKER} fact")
        question = SellerQuestion(
            tenant_id=h.tenant_id, listing_id=h.listing_id, conversation_id=conversation.id, topic="rust"
        )
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        booking = Booking(
            seller_id=tenant.seller_id,
            tenant_id=h.tenant_id,
            conversation_id=conversation.id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
        )
        session.add_all([photo, fact, question, booking])
        await session.flush()
        extra = {
            "photo_id": photo.id,
            "fact_id": fact.id,
            "question_id": question.id,
            "booking_id": booking.id,
        }
        return Seeded(
            tenant.seller_id,
            h.tenant_id,
            h.page_id,
            h.listing_id,
            conversation.id,
            message.id,
            note.id,
            deal.id,
            A_BUYER,
            **extra,
        )


async def snapshot(h: Harness, a: Seeded) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of seller A, in every table that says whose it is."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with h.runtime.session_factory() as session:
        conversation_ids = [a.conversation_id]
        for table in Base.metadata.sorted_tables:
            columns = table.c
            if table.name in WRITTEN_IN_THE_BACKGROUND:
                continue
            if table.name == "sellers":
                where = columns.id == a.seller_id
            elif "seller_id" in columns:
                where = columns.seller_id == a.seller_id
            elif "tenant_id" in columns:
                where = columns.tenant_id == a.tenant_id
            elif "conversation_id" in columns:
                where = columns.conversation_id.in_(conversation_ids)
            else:
                continue
            primary = list(sa_inspect(table).primary_key.columns) or list(columns)
            result = await session.execute(select(table).where(where).order_by(*primary))
            rows[table.name] = [tuple(row) for row in result]
    return rows


async def test_no_route_lets_seller_b_read_or_change_seller_as_data(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        a = await _seed_a(h)
        b_tenant, _ = await seed(h.runtime, page_id=B_PAGE)
        await buyer_writes(h, "8001", "B's own buyer", page_id=B_PAGE)
        async with h.runtime.session_factory() as session:
            b_seller = (await session.get(MessengerTenant, b_tenant)).seller_id  # type: ignore[union-attr]
        b_headers = {
            "Authorization": f"Bearer {issue_seller_token(h.runtime.settings, b_seller, timedelta(hours=1))}"
        }
        app = h.client._transport.app  # type: ignore[attr-defined]
        before = await snapshot(h, a)
        assert before["messenger_messages"] and before["deals"] and before["seller_notifications"]

        all_endpoints = list(endpoints(app.router.routes))
        unclassified = [
            f"{e.method} {e.path}" for e in all_endpoints if not e.protected and not is_public(e.path)
        ]
        assert not unclassified, (
            f"routes neither public (PUBLIC_PREFIXES) nor protected by a session check: {unclassified}"
        )
        protected = [e for e in all_endpoints if e.protected]
        assert len(protected) >= 13  # the dashboard's and privacy's routes at least

        checked: list[str] = []
        for endpoint in protected:
            path, query, body, names_a = request_for(endpoint, a)
            label = f"{endpoint.method} {endpoint.path}"
            files = files_for(endpoint)
            payload: dict[str, Any] = {"files": files} if files else {"json": body}
            anonymous = await h.client.request(endpoint.method, path, params=query, **payload)
            assert anonymous.status_code == 401, (label, anonymous.status_code, anonymous.text[:200])
            if endpoint.path in STREAMING:
                # An event stream never ends: its account scoping is tested in tests/live.
                checked.append(label)
                continue
            response = await h.client.request(
                endpoint.method, path, params=query, headers=b_headers, **payload
            )
            assert response.status_code != 500, (label, response.text[:300])
            assert A_MARKER not in response.text, (label, "A's data leaked to B")
            if names_a:
                assert response.status_code in (403, 404), (label, response.status_code, response.text[:300])
            checked.append(label)
        assert await snapshot(h, a) == before, "a request of B changed A's rows"
        assert "DELETE /api/conversations/{conversation_id}/buyer-data" in checked
        assert "POST /api/privacy/buyers/delete" in checked


def test_the_enumeration_sees_every_route_and_refuses_unknown_parameters() -> None:
    seeded = Seeded(1, 2, "3", 4, 5, 6, 7, 8, "9")

    class Fake:
        path = "/api/widgets/{widget_id}"
        methods = {"GET"}
        dependant = None

    endpoint = Endpoint(Fake.path, "GET", Fake(), True)
    try:
        request_for(endpoint, seeded)
    except AssertionError as error:
        assert "widget_id" in str(error) and "A_IDS" in str(error)
    else:
        raise AssertionError("an unknown parameter must fail the isolation test")
    assert not is_public("/api/bookings") and is_public("/facebook/deauthorize") and is_public("/healthz")
    _ = SellerNotification  # imported so that its table is in the metadata snapshot
