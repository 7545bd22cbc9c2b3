"""What the conversation job and its event handlers need from the process, as small typed values.

The composition root (``runtime``) builds these; nothing here imports it. Sending is reached through the
:class:`Sender` protocol, so this domain does not import the sending domain (which reads its tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.conversations.composer import ReplyComposer
from accorria_agent.conversations.hooks import TurnHook
from accorria_agent.jobs.interface import JobQueue, JobRequest

if TYPE_CHECKING:
    from accorria_agent.conversations.models import Conversation, Message
    from accorria_agent.sellers.models import MessengerSettings, MessengerTenant


class Sender(Protocol):
    """The send side as the conversation job uses it (``sending.delivery.OutboundDelivery``)."""

    async def gate(
        self,
        session: AsyncSession,
        message: Message,
        conversation: Conversation,
        tenant: MessengerTenant,
        settings: MessengerSettings,
        halt_reason: str | None,
    ) -> object | None:
        """Pass one stored reply through the send-time gate in the caller's transaction."""
        ...

    async def deliver(self, tenant_id: int, message_ids: list[int], first: object | None = None) -> None:
        """Send stored replies in order (``first``: the gate's result for the first one)."""
        ...

    async def thread_control(self, tenant_id: int, psid: str, action: str) -> None:
        """Pass the thread to the Page Inbox or take it back."""
        ...

    def delivery_job(
        self,
        tenant_id: int,
        page_id: str,
        buyer_psid: str,
        message_ids: list[int],
        delay_seconds: float | None = None,
    ) -> JobRequest:
        """The delivery job of these replies of one conversation."""
        ...


@dataclass(frozen=True)
class HandlerContext:
    """What the event handlers read besides the rows they change: our own app id (to tell our echoes)."""

    facebook_app_id: str


@dataclass(frozen=True)
class ConversationDeps:
    """What the ``process_conversation`` job uses."""

    session_factory: async_sessionmaker[AsyncSession]
    queue: JobQueue
    sender: Sender
    composer: ReplyComposer
    clock: Callable[[], datetime]
    default_timezone: str
    human_like_delays: bool
    handlers: HandlerContext
    # Domains above this one that take part in each turn (questions, deals, test drives), in order.
    turn_hooks: tuple[TurnHook, ...] = ()
    # The loop breaker: more bot replies than this to one thread within a minute and the bot stops for that
    # thread and hands it to the seller (a buyer flooding, another bot answering ours, a bug).
    loop_limit_per_minute: int = 8
