"""Listing use cases: create, edit, archive, photos, the m.me link, its QR code and the windshield sign.

Every function takes the signed-in member and scopes by their account; another account's listing is
"not found". The request owns the transaction: these functions flush, never commit.
"""

from __future__ import annotations

import io
import secrets
from decimal import Decimal
from typing import Any

import segno
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.context import MemberContext
from accorria_agent.audit import service as audit
from accorria_agent.errors import BadRequest, Conflict, Forbidden, NotFound
from accorria_agent.listings import repository as repo
from accorria_agent.listings.models import ListingPhoto
from accorria_agent.listings.photos import PhotoStore, process_upload
from accorria_agent.listings.schemas import (
    OWNER_FIELDS,
    RULE_FIELDS,
    ListingCreate,
    ListingOut,
    ListingOwnerOut,
    ListingPatch,
    PhotoOut,
)
from accorria_agent.messenger.page_setup import m_me_link
from accorria_agent.sellers.models import Listing
from accorria_agent.sellers.schemas import ListingSpec

MAX_PHOTOS_PER_LISTING = 20
_SPEC_FIELDS = frozenset(ListingSpec.model_fields)


def photo_url(key: str, variant: str) -> str:
    """The public URL path of one size of a photo."""
    return f"/media/photos/{key}/{variant}.jpg"


def _photo_out(photo: ListingPhoto) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        position=photo.position,
        width=photo.width,
        height=photo.height,
        thumb_url=photo_url(photo.key, "thumb"),
        medium_url=photo_url(photo.key, "medium"),
        original_url=photo_url(photo.key, "original"),
    )


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else Decimal(amount).quantize(Decimal("0.01"))


def _out(
    member: MemberContext, listing: Listing, page_id: str | None, photos: list[ListingPhoto]
) -> ListingOut:
    values: dict[str, Any] = {
        "id": listing.id,
        "status": listing.status,
        "page_id": page_id,
        "year": listing.year,
        "make": listing.make,
        "model": listing.model,
        "trim": listing.trim,
        "mileage": listing.mileage,
        "vin": listing.vin,
        "features": list(listing.features or []),
        "description": listing.description,
        "location": listing.location,
        "details": {str(k): str(v) for k, v in (listing.details or {}).items()},
        "asking_price": _cents(listing.asking_price),
        "response_tone": listing.response_tone,
        "escrow_enabled": listing.escrow_enabled,
        "reply_mode": listing.reply_mode,
        "photos": [_photo_out(p) for p in photos],
        "m_me_url": m_me_link(page_id, listing.id) if page_id else None,
        "created_at": listing.created_at,
    }
    if member.is_owner:
        return ListingOwnerOut(
            **values,
            price_floor=_cents(listing.price_floor),
            auto_accept_threshold=_cents(listing.auto_accept_threshold),
            max_concessions=listing.max_concessions,
        )
    return ListingOut(**values)


async def _load(session: AsyncSession, member: MemberContext, listing_id: int) -> Listing:
    listing = await repo.listing_of(session, member.seller_id, listing_id)
    if listing is None:
        raise NotFound("listing not found")
    return listing


async def listing_row(session: AsyncSession, member: MemberContext, listing_id: int) -> Listing:
    """The account's listing row with its rules (for in-process use such as the preview chat); 404 else."""
    return await _load(session, member, listing_id)


async def _tenant_id(session: AsyncSession, member: MemberContext, page_id: str | None) -> int | None:
    if page_id is None:
        return None
    tenant = await repo.page_of(session, member.seller_id, page_id)
    if tenant is None:
        raise NotFound("no such connected Page on this account")
    return tenant.id


async def list_listings(session: AsyncSession, member: MemberContext, status: str | None) -> list[ListingOut]:
    """The account's listings, newest first, with photos and links (three queries, whatever the count)."""
    listings = await repo.listings_of(session, member.seller_id, status)
    pages = await repo.page_ids_by_tenant(session, member.seller_id)
    photos = await repo.photos_of(session, member.seller_id, [listing.id for listing in listings])
    return [
        _out(member, listing, pages.get(listing.tenant_id or 0), photos.get(listing.id, []))
        for listing in listings
    ]


async def get_listing(session: AsyncSession, member: MemberContext, listing_id: int) -> ListingOut:
    """One listing of the account."""
    listing = await _load(session, member, listing_id)
    return await _present(session, member, listing)


async def _present(session: AsyncSession, member: MemberContext, listing: Listing) -> ListingOut:
    pages = await repo.page_ids_by_tenant(session, member.seller_id)
    photos = await repo.photos_of(session, member.seller_id, [listing.id])
    return _out(member, listing, pages.get(listing.tenant_id or 0), photos.get(listing.id, []))


async def create_listing(session: AsyncSession, member: MemberContext, body: ListingCreate) -> ListingOut:
    """A new active listing (owners only: it sets a floor)."""
    if not member.is_owner:
        raise Forbidden("only an owner can add a listing (it sets the floor)")
    tenant_id = await _tenant_id(session, member, body.page_id)
    listing = Listing(
        seller_id=member.seller_id,
        tenant_id=tenant_id,
        vin=body.vin,
        **body.model_dump(include=set(_SPEC_FIELDS)),
    )
    session.add(listing)
    await session.flush()
    await audit.by_member(
        session, member.seller_id, member.member_id, "listing.create", ("listing", listing.id)
    )
    return await _present(session, member, listing)


async def update_listing(
    session: AsyncSession, member: MemberContext, listing_id: int, patch: ListingPatch
) -> ListingOut:
    """Apply a partial update; the result must still be a consistent listing (floor ≤ asking …)."""
    listing = await _load(session, member, listing_id)
    changes = patch.model_dump(exclude_unset=True)
    if not member.is_owner and RULE_FIELDS & changes.keys():
        raise Forbidden("only an owner can change the price rules")
    if not member.is_owner and OWNER_FIELDS & changes.keys():
        raise Forbidden("only an owner can change who answers this listing's buyers")
    if listing.status in {"sold", "archived"} and "status" in changes:
        raise Conflict(f"the listing is {listing.status}; it cannot be {changes['status']}")
    current = {name: getattr(listing, name) for name in _SPEC_FIELDS}
    merged = {**current, **{k: v for k, v in changes.items() if k in _SPEC_FIELDS}}
    try:
        ListingSpec.model_validate(merged)
    except ValidationError as error:
        first = error.errors()[0]
        raise BadRequest(first["msg"].removeprefix("Value error, "), code="listing_invalid") from None
    if "page_id" in changes:
        listing.tenant_id = await _tenant_id(session, member, changes.pop("page_id"))
    for name, value in changes.items():
        setattr(listing, name, value)
    await session.flush()
    # Field names only: a floor's value is never copied into the trail.
    await audit.by_member(
        session,
        member.seller_id,
        member.member_id,
        "listing.update",
        ("listing", listing.id),
        fields=sorted(patch.model_dump(exclude_unset=True)),
    )
    return await _present(session, member, listing)


async def set_archived(
    session: AsyncSession, member: MemberContext, listing_id: int, archived: bool
) -> ListingOut:
    """Archive (the bot stops offering it) or bring back a listing; a sold one stays sold."""
    listing = await _load(session, member, listing_id)
    if listing.status == "sold":
        raise Conflict("the listing is sold")
    listing.status = "archived" if archived else "active"
    await session.flush()
    await audit.by_member(
        session,
        member.seller_id,
        member.member_id,
        f"listing.{'archive' if archived else 'unarchive'}",
        ("listing", listing.id),
    )
    return await _present(session, member, listing)


async def add_photo(
    session: AsyncSession,
    member: MemberContext,
    store: PhotoStore,
    listing_id: int,
    data: bytes,
    *,
    max_bytes: int,
) -> PhotoOut:
    """Check, re-encode and store an uploaded photo at the end of the listing's photos."""
    listing = await _load(session, member, listing_id)
    count = await repo.photo_count(session, listing.id)
    if count >= MAX_PHOTOS_PER_LISTING:
        raise Conflict(f"a listing has at most {MAX_PHOTOS_PER_LISTING} photos")
    processed = process_upload(data, max_bytes=max_bytes)
    key = secrets.token_urlsafe(24)
    for variant, content in processed.variants.items():
        await store.put(key, variant, content)
    photo = ListingPhoto(
        seller_id=member.seller_id,
        listing_id=listing.id,
        key=key,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.variants["original"]),
        position=count,
    )
    session.add(photo)
    await session.flush()
    await audit.by_member(
        session,
        member.seller_id,
        member.member_id,
        "listing.photo_add",
        ("listing", listing.id),
        photo=photo.id,
    )
    return _photo_out(photo)


async def remove_photo(session: AsyncSession, member: MemberContext, listing_id: int, photo_id: int) -> str:
    """Delete one photo's row; returns its key so the caller removes the files once that has committed."""
    photo = await repo.photo_of(session, member.seller_id, listing_id, photo_id)
    if photo is None:
        raise NotFound("photo not found")
    await repo.delete_photo(session, photo.id)
    await session.flush()
    await audit.by_member(
        session,
        member.seller_id,
        member.member_id,
        "listing.photo_delete",
        ("listing", listing_id),
        photo=photo_id,
    )
    return photo.key


async def listing_qr_svg(session: AsyncSession, member: MemberContext, listing_id: int) -> str:
    """The listing's m.me link as an SVG QR code (scannable from a windshield)."""
    listing = await get_listing(session, member, listing_id)
    if listing.m_me_url is None:
        raise Conflict("connect a Page to this listing first: its m.me link needs one")
    qr = segno.make(listing.m_me_url, error="m")
    buffer = io.BytesIO()
    # With its namespace: the dashboard shows it as an <img>, which renders only a namespaced SVG.
    qr.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=8,
        border=2,
        dark="#111111",
        light="#ffffff",
    )
    return buffer.getvalue().decode("utf-8")
