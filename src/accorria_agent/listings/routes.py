"""HTTP surface of listings: ``/api/listings…`` (JSON), ``/media/photos/…`` (public) and the printable sign.

The request owns the transaction (``ListingSession``); refusals are typed errors (404 for another
account's ids, 403 for staff on owner-only changes, 409/413/400 for photos), turned into JSON by the app.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.context import Member
from accorria_agent.db.engine import transaction
from accorria_agent.errors import NotFound, PayloadTooLarge
from accorria_agent.listings import service
from accorria_agent.listings.photos import VARIANTS, LocalPhotoStore, PhotoStore
from accorria_agent.listings.schemas import ListingCreate, ListingOut, ListingOwnerOut, ListingPatch, PhotoOut

# Owners get the rules too; the union keeps whichever view the service built.
AnyListing = ListingOwnerOut | ListingOut

MAX_ID = 2**31 - 1
STATIC_DIR = FsPath(__file__).parent / "static"
ListingId = Annotated[int, Path(ge=1, le=MAX_ID)]
PhotoId = Annotated[int, Path(ge=1, le=MAX_ID)]


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with transaction(request.app.state.runtime.session_factory) as session:
        yield session


def photo_store(request: Request) -> PhotoStore:
    """The process's photo store (the runtime's, else files under the data directory)."""
    store: PhotoStore | None = getattr(request.app.state.runtime, "photo_store", None)
    if store is None:
        store = LocalPhotoStore(request.app.state.runtime.settings.data_dir / "media" / "photos")
    return store


Session = Annotated[AsyncSession, Depends(_session)]
Store = Annotated[PhotoStore, Depends(photo_store)]

api = APIRouter(prefix="/api/listings", tags=["listings"])


@api.get("", response_model=list[AnyListing])
async def list_listings(
    member: Member,
    session: Session,
    status_filter: Annotated[
        Literal["active", "paused", "sold", "archived"] | None, Query(alias="status")
    ] = None,
) -> list[ListingOut]:
    """The account's listings, newest first (the floor only for owners)."""
    return await service.list_listings(session, member, status_filter)


@api.post("", response_model=AnyListing, status_code=status.HTTP_201_CREATED)
async def create_listing(body: ListingCreate, member: Member, session: Session) -> ListingOut:
    """Add a listing (owners)."""
    return await service.create_listing(session, member, body)


@api.get("/{listing_id}", response_model=AnyListing)
async def get_listing(listing_id: ListingId, member: Member, session: Session) -> ListingOut:
    """One listing."""
    return await service.get_listing(session, member, listing_id)


@api.patch("/{listing_id}", response_model=AnyListing)
async def update_listing(
    listing_id: ListingId, body: ListingPatch, member: Member, session: Session
) -> ListingOut:
    """Change some fields; price rules need an owner."""
    return await service.update_listing(session, member, listing_id, body)


@api.post("/{listing_id}/archive", response_model=AnyListing)
async def archive_listing(listing_id: ListingId, member: Member, session: Session) -> ListingOut:
    """Archive: the listing is kept but no longer offered."""
    return await service.set_archived(session, member, listing_id, True)


@api.post("/{listing_id}/unarchive", response_model=AnyListing)
async def unarchive_listing(listing_id: ListingId, member: Member, session: Session) -> ListingOut:
    """Bring an archived listing back."""
    return await service.set_archived(session, member, listing_id, False)


@api.post("/{listing_id}/photos", response_model=PhotoOut, status_code=status.HTTP_201_CREATED)
async def upload_photo(
    request: Request,
    listing_id: ListingId,
    member: Member,
    session: Session,
    store: Store,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
) -> PhotoOut:
    """Upload one photo (multipart field ``file``); checked, re-encoded without metadata, resized."""
    limit: int = request.app.state.runtime.settings.photo_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"a photo may be at most {limit // 1_000_000} MB")
    return await service.add_photo(session, member, store, listing_id, data, max_bytes=limit)


@api.delete("/{listing_id}/photos/{photo_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_photo(
    request: Request, listing_id: ListingId, photo_id: PhotoId, member: Member, store: Store
) -> Response:
    """Remove a photo (its files go once the row's deletion has committed)."""
    async with transaction(request.app.state.runtime.session_factory) as session:
        key = await service.remove_photo(session, member, listing_id, photo_id)
    await store.delete(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.get("/{listing_id}/qr.svg")
async def listing_qr(listing_id: ListingId, member: Member, session: Session) -> Response:
    """The listing's m.me link as a QR code (SVG)."""
    svg = await service.listing_qr_svg(session, member, listing_id)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


pages = APIRouter(include_in_schema=False)


@pages.get("/media/photos/{key}/{variant}.jpg")
async def photo(key: str, variant: str, store: Store) -> Response:
    """A photo by its unguessable key (public: Messenger fetches attachments by URL)."""
    if variant not in VARIANTS:
        raise NotFound("photo not found")
    data = await store.get(key, variant)
    if data is None:
        raise NotFound("photo not found")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})


@pages.get("/listings/static/{name}")
async def sign_static(name: str) -> Response:
    """The sign page's stylesheet and script."""
    types = {"sign.css": "text/css", "sign.js": "text/javascript"}
    if name not in types:
        raise NotFound("not found")
    return FileResponse(STATIC_DIR / name, media_type=types[name])


def _money(amount: Decimal) -> str:
    return f"${amount:,.0f}"


@pages.get("/listings/{listing_id}/sign", response_class=HTMLResponse)
async def windshield_sign(listing_id: ListingId, member: Member, session: Session) -> HTMLResponse:
    """A printable windshield sign: the car, the asking price, and a QR code of its m.me link."""
    listing = await service.get_listing(session, member, listing_id)
    svg = await service.listing_qr_svg(session, member, listing_id)
    title = " ".join(str(p) for p in (listing.year, listing.make, listing.model, listing.trim or "") if p)
    facts = " · ".join(
        part
        for part in (
            f"{listing.mileage:,} miles" if listing.mileage is not None else "",
            listing.location or "",
        )
        if part
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>For sale: {html.escape(title)}</title>
<link rel="stylesheet" href="/listings/static/sign.css"></head>
<body><div class="toolbar"><button type="button" id="print-sign">Print this sign</button></div>
<main class="sign"><h1>FOR SALE · {html.escape(title)}</h1>
<p class="price">{html.escape(_money(listing.asking_price))}</p>
<p class="facts">{html.escape(facts)}</p>
<div class="qr" role="img" aria-label="QR code that opens a Messenger chat about this car">{svg}</div>
<p class="cta">Scan to message us on Messenger — we answer 24/7</p>
<p class="link">{html.escape(listing.m_me_url or "")}</p></main>
<script src="/listings/static/sign.js"></script></body></html>"""
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})
