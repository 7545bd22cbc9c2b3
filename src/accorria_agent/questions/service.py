"""Use cases of the questions domain (flush, never commit: the request or job owns the transaction).

* :func:`ask_seller` — the conversation job found topics the listing cannot answer: one open question
  per conversation and topic, and a dashboard notification for the seller.
* :func:`listing_details` — the listing's facts as ``ListingFacts.details`` entries (topic → answer).
* :func:`answer_question` — the seller answers: the answer becomes the listing's fact on that topic and
  is relayed to every buyer still waiting on it, as a bot message that goes through the normal
  delivery path and its 24-hour window gate (the caller delivers after commit).
* fact listing, editing and removal, scoped by the seller.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations import repository as conversations
from accorria_agent.conversations.models import Message
from accorria_agent.errors import BadRequest, NotFound
from accorria_agent.negotiation import locales
from accorria_agent.negotiation.guard import find_amounts
from accorria_agent.questions import repository as repo
from accorria_agent.questions.models import ListingFact, SellerQuestion
from accorria_agent.sellers.models import Listing
from accorria_agent.sellers.notifications import notify_seller

MAX_BUYER_TEXT_CHARS = 500


@dataclass
class Answered:
    """What answering did: the question, the stored fact, and the relayed messages (to deliver)."""

    question: SellerQuestion
    fact: ListingFact
    messages: list[Message]


async def listing_details(session: AsyncSession, listing_id: int) -> dict[str, str]:
    """The seller's stated facts of a listing, keyed by topic (added to ``ListingFacts.details``)."""
    return {fact.topic: fact.answer for fact in await repo.facts_for_listing(session, listing_id)}


class FactsCache:
    """The stated facts of the listings this process answers about, by listing and facts revision.

    The revision comes with the listing, which every turn reads anyway, so a cached entry is used only while
    the database still says it is current: no invalidation across processes is needed. Bounded: the
    least recently used listings are dropped first.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: OrderedDict[int, tuple[int, dict[str, str]]] = OrderedDict()

    async def details(self, session: AsyncSession, listing: Listing) -> dict[str, str]:
        """The listing's facts (topic → answer): none read while it has never had one, else cached."""
        revision = listing.facts_revision or 0
        if revision == 0:
            return {}
        cached = self._entries.get(listing.id)
        if cached is not None and cached[0] == revision:
            self._entries.move_to_end(listing.id)
            return dict(cached[1])
        details = await listing_details(session, listing.id)
        self._entries[listing.id] = (revision, details)
        self._entries.move_to_end(listing.id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return dict(details)


async def ask_seller(
    session: AsyncSession,
    *,
    tenant_id: int,
    conversation_id: int,
    listing: Listing,
    topics: tuple[str, ...],
    buyer_text: str,
    language: str,
) -> list[SellerQuestion]:
    """Open a question for each topic this buyer has not already asked, and notify the seller once."""
    opened: list[SellerQuestion] = []
    for topic in dict.fromkeys(t.strip()[:64] for t in topics if t.strip()):
        if await repo.open_question(session, conversation_id, topic) is not None:
            continue
        question = SellerQuestion(
            tenant_id=tenant_id,
            listing_id=listing.id,
            conversation_id=conversation_id,
            topic=topic,
            buyer_text=buyer_text[:MAX_BUYER_TEXT_CHARS],
            language=locales.normalise_code(language),
        )
        session.add(question)
        opened.append(question)
    if opened:
        names = ", ".join(q.topic for q in opened)
        car = f"{listing.year} {listing.make} {listing.model}"
        await notify_seller(
            session,
            tenant_id,
            conversation_id,
            "question",
            f"A buyer asked about the {names} of the {car}, which the listing does not say. Answer it under "
            "Questions: the buyer gets your answer, and later buyers who ask are answered at once.",
        )
        await session.flush()
    return opened


def _check_answer(answer: str, listing: Listing) -> str:
    text = " ".join(answer.split())
    if not text:
        raise BadRequest("the answer is empty")
    # The agent relays the answer as its own message: it must not state a price at or below the floor
    # (or the floor itself), the one thing no message may say.
    for mention in find_amounts(text):
        if mention.value <= listing.price_floor:
            raise BadRequest(
                "the answer names an amount at or below your floor price; rephrase it without that amount, "
                "or write to the buyer yourself from the conversation"
            )
    return text


def relay_text(question: SellerQuestion, answer: str) -> str:
    """The buyer-facing message carrying the seller's answer, in the buyer's language."""
    topic = str(locales.lookup(question.language, "TOPIC_LABELS", question.topic, question.topic))
    template = str(locales.value(question.language, "SELLER_ANSWER"))
    return template.format(topic=topic, answer=answer)


async def answer_question(
    session: AsyncSession, *, seller_id: int, member_id: int, question_id: int, answer: str, now: datetime
) -> Answered:
    """Store the answer as the listing's fact and relay it to every buyer waiting on that topic."""
    found = await repo.owned_question(session, seller_id, question_id)
    if found is None:
        raise NotFound("question not found")
    question, listing = found
    text = _check_answer(answer, listing)
    fact = await repo.fact_for_topic(session, listing.id, question.topic)
    if fact is None:
        fact = ListingFact(listing_id=listing.id, topic=question.topic, answer=text)
        session.add(fact)
    else:
        fact.answer = text
        fact.updated_at = now
    _facts_changed(listing)
    waiting = await repo.open_questions_on_topic(session, listing.id, question.topic)
    if question not in waiting:
        waiting.insert(0, question)  # answered before: the seller corrects it, the buyer hears again
    messages: list[Message] = []
    for item in waiting:
        item.status = "answered"
        item.answer = text
        item.answered_by = member_id
        item.answered_at = now
        conversation = await conversations.conversation_by_id(session, item.tenant_id, item.conversation_id)
        if conversation is None:
            continue
        message = conversations.new_outbound(
            conversation,
            author="bot",
            text=relay_text(item, text),
            payload={"source": "seller_answer", "question_id": item.id},
            now=now,
        )
        # Set by delivery from the policy decision (the 24-hour window), like any bot reply.
        message.messaging_type = None
        session.add(message)
        messages.append(message)
    await session.flush()
    return Answered(question=question, fact=fact, messages=messages)


async def questions(
    session: AsyncSession, seller_id: int, status: str | None, limit: int
) -> list[SellerQuestion]:
    """The seller's questions, newest first (``status`` ``open`` / ``answered`` / None for all)."""
    return await repo.questions_of_seller(session, seller_id, status, limit)


async def facts(session: AsyncSession, seller_id: int, listing_id: int) -> list[ListingFact]:
    """One of the seller's listings' facts; someone else's listing is a 404."""
    if await repo.owned_listing(session, seller_id, listing_id) is None:
        raise NotFound("listing not found")
    return await repo.facts_for_listing(session, listing_id)


async def update_fact(
    session: AsyncSession, seller_id: int, listing_id: int, fact_id: int, answer: str, now: datetime
) -> ListingFact:
    """Reword a fact: later buyers get the new wording."""
    fact = await repo.owned_fact(session, seller_id, listing_id, fact_id)
    listing = await repo.owned_listing(session, seller_id, listing_id)
    if fact is None or listing is None:
        raise NotFound("fact not found")
    fact.answer = _check_answer(answer, listing)
    fact.updated_at = now
    _facts_changed(listing)
    await session.flush()
    return fact


async def delete_fact(session: AsyncSession, seller_id: int, listing_id: int, fact_id: int) -> None:
    """Remove a fact: the next buyer who asks is referred to the seller again."""
    fact = await repo.owned_fact(session, seller_id, listing_id, fact_id)
    listing = await repo.owned_listing(session, seller_id, listing_id)
    if fact is None or listing is None:
        raise NotFound("fact not found")
    await session.delete(fact)
    _facts_changed(listing)
    await session.flush()


def _facts_changed(listing: Listing) -> None:
    """Raise the listing's facts revision: every worker's cache of its facts is stale from this commit on.

    An SQL increment, not a value computed here: two members answering at once count twice."""
    listing.facts_revision = Listing.facts_revision + 1
