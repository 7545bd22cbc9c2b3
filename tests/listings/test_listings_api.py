"""Listings API: create, edit, archive, photos, QR code and sign — owners, staff and another account."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from accorria_agent.accounts.context import MemberContext, current_member
from accorria_agent.app import create_app
from accorria_agent.audit.models import AuditEvent
from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import PAGE_ID, seed

Make = Callable[..., Settings]
OTHER_PAGE_ID = "900800700"
NEW_LISTING: dict[str, Any] = {
    "year": 2016,
    "make": "Toyota",
    "model": "Camry",
    "trim": "SE",
    "mileage": 88000,
    "vin": "4T1BF1FK5GU123456",
    "features": ["bluetooth"],
    "description": "Runs great.",
    "location": "Ann Arbor, MI",
    "details": {"title": "clean"},
    "asking_price": 14000,
    "price_floor": 12500,
    "page_id": PAGE_ID,
}


@dataclass
class Api:
    runtime: Runtime
    client: httpx.AsyncClient
    app: Any
    seller_id: int
    listing_id: int
    other_seller_id: int
    other_listing_id: int
    owner: dict[str, str]
    other: dict[str, str]

    def as_staff(self) -> None:
        """Every request from now on is made by a staff member of the first account."""
        # The hardening middleware wants a credential on /api bodies before anything is read: the
        # client keeps the owner's bearer header, which the override then replaces by a staff member.
        self.app.dependency_overrides[current_member] = lambda: MemberContext(self.seller_id, 999, "staff")
        self.client.headers.update(self.owner)


async def _seller_of(runtime: Runtime, listing_id: int) -> int:
    async with runtime.session_factory() as session:
        listing = await session.get(Listing, listing_id)
        assert listing is not None
        return listing.seller_id


@asynccontextmanager
async def api(make_settings: Make, database_url: str) -> AsyncIterator[Api]:
    settings = make_settings(DATABASE_URL=database_url)
    runtime = build_runtime(settings, graph_transport=FakeGraph().transport)
    app = create_app(runtime, manage_runtime=False)
    await runtime.start()
    try:
        _, listing_id = await seed(runtime)
        _, other_listing_id = await seed(runtime, page_id=OTHER_PAGE_ID)
        seller_id = await _seller_of(runtime, listing_id)
        other_id = await _seller_of(runtime, other_listing_id)

        def bearer(sid: int) -> dict[str, str]:
            return {"Authorization": f"Bearer {issue_seller_token(settings, sid, timedelta(hours=1))}"}

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://agent.test"
        ) as client:
            yield Api(
                runtime,
                client,
                app,
                seller_id,
                listing_id,
                other_id,
                other_listing_id,
                bearer(seller_id),
                bearer(other_id),
            )
    finally:
        await runtime.stop()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (1600, 900), gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (42.0, 20.0, 0.0)}  # GPSInfo: the seller's driveway
        exif[0x010F] = "PhoneMaker"
        image.save(buffer, format="JPEG", exif=exif)
    else:
        image.save(buffer, format=fmt)
    return buffer.getvalue()


async def test_owner_creates_lists_and_edits_a_listing(database_url: str, make_settings: Make) -> None:
    async with api(make_settings, database_url) as a:
        created = await a.client.post("/api/listings", json=NEW_LISTING, headers=a.owner)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["price_floor"] == "12500.00" and body["vin"] == NEW_LISTING["vin"]
        assert body["m_me_url"] == f"https://m.me/{PAGE_ID}?ref=listing_{body['id']}"
        listed = (await a.client.get("/api/listings", headers=a.owner)).json()
        assert [item["id"] for item in listed] == [body["id"], a.listing_id]
        patched = await a.client.patch(
            f"/api/listings/{body['id']}", json={"mileage": 88500, "price_floor": 13000}, headers=a.owner
        )
        assert patched.status_code == 200 and patched.json()["mileage"] == 88500
        assert patched.json()["price_floor"] == "13000.00"
        # The result must stay consistent: a floor above the asking price is refused, nothing changes.
        bad = await a.client.patch(
            f"/api/listings/{body['id']}", json={"price_floor": 20000}, headers=a.owner
        )
        assert bad.status_code == 400 and "price_floor" in bad.json()["detail"]
        again = (await a.client.get(f"/api/listings/{body['id']}", headers=a.owner)).json()
        assert again["price_floor"] == "13000.00"
        async with a.runtime.session_factory() as session:
            trail = (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.details).where(AuditEvent.seller_id == a.seller_id)
                )
            ).all()
        assert ("listing.create", {}) in [(action, details) for action, details in trail]
        updates = [details for action, details in trail if action == "listing.update"]
        assert updates == [{"fields": ["mileage", "price_floor"]}]  # which fields, never the floor's value


async def test_staff_never_see_or_change_the_floor(database_url: str, make_settings: Make) -> None:
    async with api(make_settings, database_url) as a:
        a.as_staff()
        seen = (await a.client.get(f"/api/listings/{a.listing_id}")).json()
        assert "price_floor" not in seen and "auto_accept_threshold" not in seen
        assert "11000" not in str(seen)  # the demo listing's floor, anywhere in the staff view
        refused = await a.client.patch(f"/api/listings/{a.listing_id}", json={"price_floor": 10000})
        assert refused.status_code == 403
        assert (await a.client.post("/api/listings", json=NEW_LISTING)).status_code == 403
        allowed = await a.client.patch(f"/api/listings/{a.listing_id}", json={"description": "New tires."})
        assert allowed.status_code == 200 and allowed.json()["description"] == "New tires."
        async with a.runtime.session_factory() as session:
            row = await session.get(Listing, a.listing_id)
            assert row is not None and str(row.price_floor) == "11000.00"


async def test_another_account_gets_404_everywhere_and_changes_nothing(
    database_url: str, make_settings: Make
) -> None:
    async with api(make_settings, database_url) as a:
        lid = a.listing_id
        png = image_bytes()
        calls = [
            ("GET", f"/api/listings/{lid}", None),
            ("PATCH", f"/api/listings/{lid}", {"json": {"mileage": 1}}),
            ("POST", f"/api/listings/{lid}/archive", None),
            ("POST", f"/api/listings/{lid}/unarchive", None),
            ("POST", f"/api/listings/{lid}/photos", {"files": {"file": ("a.png", png, "image/png")}}),
            ("GET", f"/api/listings/{lid}/qr.svg", None),
            ("GET", f"/listings/{lid}/sign", None),
        ]
        for method, url, extra in calls:
            response = await a.client.request(method, url, headers=a.other, **(extra or {}))
            assert response.status_code == 404, (method, url, response.status_code)
        # B cannot attach a listing to A's Page either.
        response = await a.client.post("/api/listings", json=NEW_LISTING, headers=a.other)
        assert response.status_code == 404
        assert [x["id"] for x in (await a.client.get("/api/listings", headers=a.other)).json()] == [
            a.other_listing_id
        ]
        async with a.runtime.session_factory() as session:
            row = await session.get(Listing, lid)
            assert row is not None and row.mileage == 62000 and row.status == "active"


async def test_photo_upload_strips_metadata_resizes_and_serves(
    database_url: str, make_settings: Make
) -> None:
    async with api(make_settings, database_url) as a:
        upload = await a.client.post(
            f"/api/listings/{a.listing_id}/photos",
            files={"file": ("car.jpg", image_bytes(gps=True, size=(3000, 2000)), "image/jpeg")},
            headers=a.owner,
        )
        assert upload.status_code == 201, upload.text
        photo = upload.json()
        original = await a.client.get(photo["original_url"])
        assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(original.content)) as stored:
            assert max(stored.size) == 2048
            assert 0x8825 not in stored.getexif() and 0x010F not in stored.getexif()
        with Image.open(io.BytesIO((await a.client.get(photo["thumb_url"])).content)) as thumb:
            assert max(thumb.size) == 320
        listing = (await a.client.get(f"/api/listings/{a.listing_id}", headers=a.owner)).json()
        assert [p["id"] for p in listing["photos"]] == [photo["id"]]
        deleted = await a.client.delete(f"/api/listings/{a.listing_id}/photos/{photo['id']}", headers=a.owner)
        assert deleted.status_code == 204
        assert (await a.client.get(photo["original_url"])).status_code == 404


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"<?php echo 'not an image'; ?>", 400),
        (b"", 400),
        (image_bytes("GIF", (10, 10)), 400),
    ],
)
async def test_bad_uploads_get_a_clear_refusal(
    database_url: str, make_settings: Make, content: bytes, status: int
) -> None:
    async with api(make_settings, database_url) as a:
        response = await a.client.post(
            f"/api/listings/{a.listing_id}/photos",
            files={"file": ("x.png", content, "image/png")},
            headers=a.owner,
        )
        assert response.status_code == status and response.json()["code"].startswith("photo")
        listing = (await a.client.get(f"/api/listings/{a.listing_id}", headers=a.owner)).json()
        assert listing["photos"] == []


async def test_an_oversized_photo_is_413(database_url: str, make_settings: Make) -> None:
    noisy = Image.frombytes("RGB", (400, 400), random.Random(7).randbytes(400 * 400 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 100_000
    settings_maker: Make = lambda **kw: make_settings(PHOTO_MAX_BYTES=100_000, **kw)  # noqa: E731
    async with api(settings_maker, database_url) as a:
        response = await a.client.post(
            f"/api/listings/{a.listing_id}/photos",
            files={"file": ("big.png", buffer.getvalue(), "image/png")},
            headers=a.owner,
        )
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_archive_and_sold_rules(database_url: str, make_settings: Make) -> None:
    async with api(make_settings, database_url) as a:
        archived = await a.client.post(f"/api/listings/{a.listing_id}/archive", headers=a.owner)
        assert archived.json()["status"] == "archived"
        active = (await a.client.get("/api/listings?status=active", headers=a.owner)).json()
        assert active == []
        back = await a.client.post(f"/api/listings/{a.listing_id}/unarchive", headers=a.owner)
        assert back.json()["status"] == "active"
        async with transaction(a.runtime.session_factory) as session:
            row = await session.get(Listing, a.listing_id)
            assert row is not None
            row.status = "sold"
        refused = await a.client.post(f"/api/listings/{a.listing_id}/archive", headers=a.owner)
        assert refused.status_code == 409
        assert (await a.client.get("/api/listings?status=bogus", headers=a.owner)).status_code == 422


async def test_qr_code_and_printable_sign_escape_the_seller_text(
    database_url: str, make_settings: Make
) -> None:
    async with api(make_settings, database_url) as a:
        await a.client.patch(
            f"/api/listings/{a.listing_id}",
            json={"trim": "<script>alert(1)</script>", "location": "<img src=x onerror=alert(2)>"},
            headers=a.owner,
        )
        qr = await a.client.get(f"/api/listings/{a.listing_id}/qr.svg", headers=a.owner)
        assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
        assert qr.text.lstrip().startswith("<svg")
        sign = await a.client.get(f"/listings/{a.listing_id}/sign", headers=a.owner)
        assert sign.status_code == 200
        assert "<script>alert(1)" not in sign.text and "&lt;script&gt;alert(1)" in sign.text
        assert "<img src=x" not in sign.text
        assert f"https://m.me/{PAGE_ID}?ref=listing_{a.listing_id}" in sign.text
        assert "$12,500" in sign.text and "11,000" not in sign.text  # asking price, never the floor
        # A listing without a Page has no m.me link: a clear 409, not a broken code.
        async with transaction(a.runtime.session_factory) as session:
            row = await session.get(Listing, a.listing_id)
            assert row is not None
            row.tenant_id = None
        assert (
            await a.client.get(f"/api/listings/{a.listing_id}/qr.svg", headers=a.owner)
        ).status_code == 409


async def test_validation_errors_are_422(database_url: str, make_settings: Make) -> None:
    async with api(make_settings, database_url) as a:
        for body in (
            {**NEW_LISTING, "vin": "IOQ123"},
            {**NEW_LISTING, "asking_price": -5},
            {**NEW_LISTING, "unknown": 1},
            {**NEW_LISTING, "page_id": "abc"},
        ):
            assert (await a.client.post("/api/listings", json=body, headers=a.owner)).status_code == 422
        async with a.runtime.session_factory() as session:
            count = len((await session.execute(select(Listing))).scalars().all())
            pages = len((await session.execute(select(MessengerTenant))).scalars().all())
        assert (count, pages) == (2, 2)
