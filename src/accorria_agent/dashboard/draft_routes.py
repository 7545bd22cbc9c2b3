"""The co-pilot draft endpoints: ``POST /api/conversations/{id}/draft/send`` and ``DELETE …/draft``.

Like the seller's own reply (``routes.send_message``): the request's transaction records the message and
commits, delivery (the send-time gate, the Send API) runs afterwards, and the stored message is returned.
Someone else's conversation, or no draft, is 404.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Body, Depends, Request, Response, status

from accorria_agent.accounts.context import Member
from accorria_agent.dashboard import drafts, service
from accorria_agent.dashboard.routes import ConversationId, DashboardRuntime
from accorria_agent.dashboard.schemas import DraftSendIn, MessageOut
from accorria_agent.db.engine import transaction
from accorria_agent.jobs.interface import JobQueue


class DraftRuntime(DashboardRuntime, Protocol):
    """What the draft endpoints read of the runtime: the dashboard's, and the job queue (a deal's escrow)."""

    queue: JobQueue


def get_runtime(request: Request) -> DraftRuntime:
    runtime: DraftRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[DraftRuntime, Depends(get_runtime)]
router = APIRouter(prefix="/api", tags=["dashboard"])


@router.post(
    "/conversations/{conversation_id}/draft/send",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
)
async def send_draft(
    conversation_id: ConversationId,
    member: Member,
    runtime: RuntimeDep,
    body: Annotated[DraftSendIn | None, Body()] = None,
) -> MessageOut:
    """Send the waiting draft as it is, or ``{"text": …}`` (``confirm_below_floor`` to go below the floor)."""
    async with transaction(runtime.session_factory) as session:
        tenant_id, message_id = await drafts.send_draft(
            session,
            member.seller_id,
            conversation_id,
            body or DraftSendIn(),
            runtime.clock(),
            actor_id=member.member_id,
            is_owner=member.is_owner,
            queue=runtime.queue,
        )
    await runtime.delivery.deliver(tenant_id, [message_id])
    async with transaction(runtime.session_factory) as session:
        return await service.stored_message(session, tenant_id, message_id, member.seller_id)


@router.delete("/conversations/{conversation_id}/draft", status_code=status.HTTP_204_NO_CONTENT)
async def discard_draft(conversation_id: ConversationId, member: Member, runtime: RuntimeDep) -> Response:
    """Discard the waiting draft (nothing is sent)."""
    async with transaction(runtime.session_factory) as session:
        await drafts.discard_draft(
            session, member.seller_id, conversation_id, runtime.clock(), actor_id=member.member_id
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
