"""All SQL of the questions domain. Seller-facing reads are scoped by ``seller_id`` through the listing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.questions.models import ListingFact, SellerQuestion
from accorria_agent.sellers.models import Listing


async def facts_for_listing(session: AsyncSession, listing_id: int) -> list[ListingFact]:
    """The listing's facts, oldest first (the caller already holds the listing, tenant-scoped)."""
    result = await session.execute(
        select(ListingFact).where(ListingFact.listing_id == listing_id).order_by(ListingFact.id)
    )
    return list(result.scalars())


async def fact_for_topic(session: AsyncSession, listing_id: int, topic: str) -> ListingFact | None:
    result = await session.execute(
        select(ListingFact).where(ListingFact.listing_id == listing_id, ListingFact.topic == topic)
    )
    return result.scalar_one_or_none()


async def open_question(session: AsyncSession, conversation_id: int, topic: str) -> SellerQuestion | None:
    """The conversation's open question on ``topic``, if the buyer already asked it."""
    result = await session.execute(
        select(SellerQuestion).where(
            SellerQuestion.conversation_id == conversation_id,
            SellerQuestion.topic == topic,
            SellerQuestion.status == "open",
        )
    )
    return result.scalars().first()


async def owned_listing(session: AsyncSession, seller_id: int, listing_id: int) -> Listing | None:
    result = await session.execute(
        select(Listing).where(Listing.id == listing_id, Listing.seller_id == seller_id)
    )
    return result.scalar_one_or_none()


async def owned_fact(
    session: AsyncSession, seller_id: int, listing_id: int, fact_id: int
) -> ListingFact | None:
    result = await session.execute(
        select(ListingFact)
        .join(Listing, Listing.id == ListingFact.listing_id)
        .where(
            ListingFact.id == fact_id, ListingFact.listing_id == listing_id, Listing.seller_id == seller_id
        )
    )
    return result.scalar_one_or_none()


async def owned_question(
    session: AsyncSession, seller_id: int, question_id: int
) -> tuple[SellerQuestion, Listing] | None:
    """The question and its listing, only if the listing belongs to ``seller_id`` (else None: a 404)."""
    result = await session.execute(
        select(SellerQuestion, Listing)
        .join(Listing, Listing.id == SellerQuestion.listing_id)
        .where(SellerQuestion.id == question_id, Listing.seller_id == seller_id)
        .with_for_update(of=SellerQuestion)
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def questions_of_seller(
    session: AsyncSession, seller_id: int, status: str | None, limit: int
) -> list[SellerQuestion]:
    query = (
        select(SellerQuestion)
        .join(Listing, Listing.id == SellerQuestion.listing_id)
        .where(Listing.seller_id == seller_id)
        .order_by(SellerQuestion.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(SellerQuestion.status == status)
    result = await session.execute(query)
    return list(result.scalars())


async def open_questions_on_topic(session: AsyncSession, listing_id: int, topic: str) -> list[SellerQuestion]:
    """Every buyer still waiting for the seller on ``topic`` of this listing (one answer serves them all)."""
    result = await session.execute(
        select(SellerQuestion)
        .where(
            SellerQuestion.listing_id == listing_id,
            SellerQuestion.topic == topic,
            SellerQuestion.status == "open",
        )
        .order_by(SellerQuestion.id)
    )
    return list(result.scalars())
