"""The questions API (``/api/questions``, ``/api/listings/{id}/facts``): the seller answers buyers' questions.

Every route depends on the signed-in member (``Member``; removing a fact needs an ``Owner``) and scopes
by ``member.seller_id``: someone else's question, listing or fact is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from accorria_agent.accounts.context import Member, Owner
from accorria_agent.conversations import repository as conversations
from accorria_agent.db.engine import transaction
from accorria_agent.questions import service
from accorria_agent.questions.models import SellerQuestion
from accorria_agent.questions.schemas import AnswerIn, AnswerOut, DeliveryOut, FactIn, FactOut, QuestionOut

router = APIRouter(prefix="/api", tags=["questions"])

# Postgres ``integer`` ids: a larger number must be a 422, not a database overflow error (500).
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def _runtime(request: Request) -> Any:
    # The composition root's Runtime, typed loosely so this domain does not import the root.
    return request.app.state.runtime


def _question_out(question: SellerQuestion) -> QuestionOut:
    return QuestionOut(
        id=question.id,
        listing_id=question.listing_id,
        conversation_id=question.conversation_id,
        topic=question.topic,
        question=question.buyer_text,
        language=question.language,
        status=question.status,
        answer=question.answer,
        created_at=question.created_at,
        answered_at=question.answered_at,
    )


@router.get("/questions", response_model=list[QuestionOut])
async def list_questions(
    request: Request,
    member: Member,
    state: Annotated[Literal["open", "answered", "all"], Query(alias="status")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QuestionOut]:
    """The seller's questions from buyers, newest first; open ones by default."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        rows = await service.questions(session, member.seller_id, None if state == "all" else state, limit)
        return [_question_out(q) for q in rows]


@router.post("/questions/{question_id}/answer", response_model=AnswerOut)
async def answer_question(question_id: Id, body: AnswerIn, request: Request, member: Member) -> AnswerOut:
    """Answer a question: kept as the listing's fact and sent to every buyer waiting on it."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        done = await service.answer_question(
            session,
            seller_id=member.seller_id,
            member_id=member.member_id,
            question_id=question_id,
            answer=body.answer,
            now=runtime.clock(),
        )
        question = _question_out(done.question)
        fact = FactOut.model_validate(done.fact)
        targets = [(m.tenant_id, m.id, m.conversation_id) for m in done.messages]
    deliveries: list[DeliveryOut] = []
    for tenant_id, message_id, _ in targets:
        # After commit, like the dashboard's own replies: the send-time gate applies the 24-hour window.
        await runtime.delivery.deliver(tenant_id, [message_id])
    async with transaction(runtime.session_factory) as session:
        for tenant_id, message_id, conversation_id in targets:
            stored = await conversations.outbound_message(session, tenant_id, message_id)
            if stored is not None:
                deliveries.append(
                    DeliveryOut(
                        conversation_id=conversation_id,
                        message_id=message_id,
                        status=stored.status,
                        status_reason=stored.status_reason,
                    )
                )
    return AnswerOut(question=question, fact=fact, deliveries=deliveries)


@router.get("/listings/{listing_id}/facts", response_model=list[FactOut])
async def list_facts(listing_id: Id, request: Request, member: Member) -> list[FactOut]:
    """The facts the seller gave about one of their listings."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        return [FactOut.model_validate(f) for f in await service.facts(session, member.seller_id, listing_id)]


@router.put("/listings/{listing_id}/facts/{fact_id}", response_model=FactOut)
async def update_fact(listing_id: Id, fact_id: Id, body: FactIn, request: Request, member: Member) -> FactOut:
    """Reword a fact; later buyers get the new wording."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        fact = await service.update_fact(
            session, member.seller_id, listing_id, fact_id, body.answer, runtime.clock()
        )
        return FactOut.model_validate(fact)


@router.delete("/listings/{listing_id}/facts/{fact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_fact(listing_id: Id, fact_id: Id, request: Request, member: Owner) -> Response:
    """Remove a fact; the next buyer who asks is referred to the seller again."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        await service.delete_fact(session, member.seller_id, listing_id, fact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
