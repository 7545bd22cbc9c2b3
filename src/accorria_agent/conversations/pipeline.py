"""The conversation job: apply stored events in order, decide one reply, record it, deliver it.

    process_conversation(page, psid)
      ─▶ load unprocessed events (in order)        ─▶ apply each (messages, echoes, statuses …)
      ─▶ compose (understand ▸ decide ▸ phrase ▸ guard, in the composer)
      ─▶ record outbound intents + mark events processed   (one transaction)
      ─▶ deliver (policy gate at send time ▸ Send API ▸ reconcile)

The job holds the conversation's lock, so one worker at a time handles a conversation, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import update

from accorria_agent.audit import service as audit
from accorria_agent.conversations import copilot, modes, set_aside
from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.composer import BuyerInput, TurnContext, TurnResult
from accorria_agent.conversations.context import ConversationDeps
from accorria_agent.conversations.event_handlers import apply_event
from accorria_agent.conversations.models import SENDING_CLAIM_TIMEOUT_SECONDS, Conversation, Message
from accorria_agent.db.engine import transaction
from accorria_agent.db.errors import is_transient
from accorria_agent.live.bus import announce
from accorria_agent.messenger.models import EventLog
from accorria_agent.messenger.send_api import split_text
from accorria_agent.negotiation import locales
from accorria_agent.negotiation.schemas import ListingFacts
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant
from accorria_agent.sellers.notifications import notify_seller

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger(__name__)


@dataclass
class TurnOutcome:
    """What one run of the job did (for logs and tests)."""

    events: int = 0
    outbound_ids: list[int] | None = None
    tenant_id: int | None = None
    graph_actions: list[str] = field(default_factory=list)
    # Delivery deferred to its own job (human-like delays): it must not hold the conversation's lock
    # while "typing", or a seller's takeover arriving meanwhile could not be applied before the send.
    delivery_deferred: bool = False
    outbound: list[Message] = field(default_factory=list)
    first_send: object | None = None  # the send gate's result for the first reply


async def process_conversation(deps: ConversationDeps, args: dict[str, Any]) -> TurnOutcome:
    """The ``process_conversation`` task: see the module docstring."""
    page_id = str(args["page_id"])
    psid = str(args["buyer_psid"])
    now = deps.clock()
    try:
        try:
            outcome = await _turn(deps, page_id, psid, now, careful=False)
        except repo.EventsTakenError:
            raise
        except Exception as error:
            if is_transient(error):
                raise  # the database failed, not this conversation's data: the queue retries the job
            # Something in this turn's events fails for a reason a retry would not change (poison): run
            # the turn again with each event alone, so that only the failing one is set aside and the rest
            # answered.
            log.warning("conversation_turn_failed_retrying_carefully", error_type=type(error).__name__)
            outcome = await _turn(deps, page_id, psid, now, careful=True)
    except repo.EventsTakenError as taken:
        # Another run of this job answered these events (see ``mark_events_processed``): nothing to do.
        log.warning("conversation_turn_overlapped", detail=str(taken))
        return TurnOutcome()
    if outcome.tenant_id is not None:
        if outcome.outbound_ids and not outcome.delivery_deferred:
            await deps.sender.deliver(outcome.tenant_id, outcome.outbound_ids, outcome.first_send)
        for action in dict.fromkeys(outcome.graph_actions):
            await deps.sender.thread_control(outcome.tenant_id, psid, action)
    return outcome


async def _turn(
    deps: ConversationDeps, page_id: str, psid: str, now: datetime, *, careful: bool
) -> TurnOutcome:
    """The turn's transaction: apply the events, compose and record the reply, gate its first part.

    ``careful``: each event, and the composition, in a savepoint of its own; what raises is set aside
    (see ``set_aside``) instead of failing the turn. Off on the hot path (a savepoint costs round trips).
    """
    outcome = TurnOutcome()
    async with transaction(deps.session_factory) as session:
        # Events, Page, conversation, listing, unsent replies, the loop breaker's count: one round trip.
        start = await repo.turn_start(session, page_id, psid, now - timedelta(seconds=LOOP_WINDOW_SECONDS))
        events, page = start.events, start.page
        outcome.events = len(events)
        tenant = page.tenant if page is not None else None
        if page is not None and tenant is not None and not events:
            # A re-run with nothing new (a redelivery, or the retry of a job whose worker died): only
            # look for replies that worker recorded but may never have sent.
            existing = page.conversation
            if existing is not None and start.has_unsent_replies:
                await _requeue_orphans(session, deps, tenant, existing)
            return outcome
        if page is None or tenant is None:
            for event in events:
                event.processed_at = now
                event.outcome = "ignored: page not served"
            log.info("events_for_unknown_page", count=len(events))
            return outcome
        outcome.tenant_id = tenant.id
        settings = page.settings
        known = page.conversation
        conversation = known if known is not None else await repo.new_conversation(session, tenant.id, psid)
        if start.has_unsent_replies:  # a conversation created just now has none
            await _requeue_orphans(session, deps, tenant, conversation)
        inputs: list[BuyerInput] = []
        input_events: list[EventLog] = []
        # Event id -> outcome, written at the end with one conditional update (``mark_events_processed``).
        processed: dict[int, str] = {}
        for event in events:
            if careful:
                try:
                    async with session.begin_nested():
                        result = await apply_event(session, deps.handlers, tenant, conversation, event)
                except Exception as error:
                    if is_transient(error):
                        raise
                    await session.refresh(conversation)
                    await set_aside.set_aside(session, tenant, conversation, [event], error, now)
                    continue
            else:
                result = await apply_event(session, deps.handlers, tenant, conversation, event)
            processed[event.id] = result.outcome
            outcome.graph_actions.extend(result.graph_actions)
            if result.buyer_input is not None:
                inputs.append(result.buyer_input)
                input_events.append(event)
        if inputs and _auto_resume_due(conversation, settings.auto_resume_minutes, now):
            modes.apply(conversation, modes.Transition.AUTO_RESUME, at=now)
            outcome.graph_actions.append("take_thread_control")
        # Composed even while sending is halted or the Page is paused: the reply is held at the send
        # gate and released on resume, so the buyer who wrote meanwhile is still answered.
        bot_may_answer = bool(inputs) and conversation.mode == "bot"
        listing: Listing | None = None
        drafting = False
        if bot_may_answer:
            with session.no_autoflush:
                # Nothing pending affects this read; flushing here would write the conversation row twice.
                listing = (
                    start.listing
                    if conversation.listing_id == start.listing_for_id
                    else await repo.listing_for(session, tenant.id, conversation.listing_id)
                )
            answer = copilot.reply_mode(settings, listing)
            bot_may_answer = answer != copilot.OFF
            drafting = answer == copilot.COPILOT
        if bot_may_answer and careful:
            try:
                async with session.begin_nested():
                    await _compose_and_record(
                        session, deps, tenant, settings, conversation, listing, inputs, now, outcome, drafting
                    )
            except Exception as error:
                if is_transient(error):
                    raise
                # The reply to these messages cannot be composed: they are set aside, the seller told.
                outcome.outbound, outcome.outbound_ids, outcome.delivery_deferred = [], None, False
                await session.refresh(conversation)
                for event in input_events:
                    processed.pop(event.id, None)  # marked by set_aside instead
                await set_aside.set_aside(session, tenant, conversation, input_events, error, now)
                bot_may_answer = False
        elif bot_may_answer and _loop_detected(deps, conversation, start.bot_replies_since, now):
            modes.apply(conversation, modes.Transition.HAND_OFF, at=now, reason=LOOP_REASON)
            await notify_seller(session, tenant.id, conversation.id, "handoff", _handoff_text(LOOP_REASON))
            outcome.graph_actions.append("pass_thread_control")
            bot_may_answer = False
            log.warning("conversation_loop_broken", conversation_id=conversation.id)
        elif bot_may_answer:
            await _compose_and_record(
                session, deps, tenant, settings, conversation, listing, inputs, now, outcome, drafting
            )
        if bot_may_answer:
            if outcome.outbound and not outcome.delivery_deferred:
                # Gate the first reply here, on the rows this transaction holds: saves the gate's own
                # transaction on the hot path. Later parts are gated right before their own sends.
                outcome.first_send = await deps.sender.gate(
                    session, outcome.outbound[0], conversation, tenant, settings, page.halt_reason
                )
        # Last, so that an overlapping run of this job (which waits here for this one's commit) rolls back
        # everything it did, its reply included.
        await repo.mark_events_processed(session, processed, now)
    return outcome


async def _compose_and_record(
    session: AsyncSession,
    deps: ConversationDeps,
    tenant: MessengerTenant,
    settings: MessengerSettings,
    conversation: Conversation,
    listing: Listing | None,
    inputs: list[BuyerInput],
    now: datetime,
    outcome: TurnOutcome,
    drafting: bool = False,
) -> None:
    """Decide and phrase this turn's reply and record it as outbound intents (in the job's transaction).

    ``drafting`` (co-pilot): the reply is stored as the seller's draft instead (see ``copilot``).
    """
    if drafting:
        # A draft the buyer has not been sent yet is answered again, together with the new messages.
        inputs = [*await copilot.take_unanswered(session, tenant.id, conversation, now), *inputs]
    if listing is not None and conversation.listing_id is None:
        conversation.listing_id = listing.id
    # These reads do not depend on the changes pending in the session (the buyer's messages are inserted
    # by their own statement): the conversation and event rows are written once, at the flush below,
    # instead of in one UPDATE per read.
    with session.no_autoflush:
        history = (
            [
                (m.author, m.text or "")
                for m in await repo.recent_messages(session, tenant.id, conversation.id)
            ]
            if getattr(deps.composer, "wants_history", True)
            else []
        )
        # Facts the seller stated since the listing was written (the questions domain's hook).
        answered: dict[str, str] = {}
        if listing is not None:
            for hook in deps.turn_hooks:
                answered.update(await hook.listing_details(session, listing))
    context = TurnContext(
        conversation_id=conversation.id,
        listing=listing_facts(listing, answered) if listing else None,
        rules=listing,
        inputs=inputs,
        state=dict(conversation.negotiation_state or {}),
        history=history,
        timezone=deps.default_timezone,
        now=now,
        drafting=drafting,
    )
    turn = await deps.composer.compose(context)
    for hook in deps.turn_hooks:
        turn = await hook.after_compose(session, tenant, conversation, listing, context, turn)
    if drafting:
        await copilot.record_draft(session, tenant, conversation, turn, inputs, now)
        _hand_off_if_decided(conversation, turn, now)
        if turn.handoff_reason:
            await _notify_handoff(session, tenant, conversation, turn.handoff_reason, outcome)
        return
    conversation.negotiation_state = turn.state
    drafts = list(turn.drafts)
    if drafts and _needs_disclosure(conversation, now):
        drafts[0] = drafts[0].with_prefix(disclosure_for(settings, turn.language))
        conversation.disclosed_at = now
    outbound: list[Message] = []
    # Delivered by this job (no human-like delays): its first reply is inserted claimed for the send, and
    # gated in this transaction (see ``_turn``).
    deferred = deps.human_like_delays and settings.human_like_delays
    for draft in drafts:
        # Messenger takes 2,000 characters per message: longer texts go out as several, cut at
        # sentence boundaries, with the quick replies on the last part.
        parts = split_text(draft.text) or [draft.text]
        for index, part in enumerate(parts):
            payload: dict[str, Any] = {"source": draft.source}
            if turn.handoff_reason:
                # The one message telling the buyer a person will answer goes out despite the handoff.
                payload["handoff_notice"] = True
            if draft.quick_replies and index == len(parts) - 1:
                payload["quick_replies"] = [list(q) for q in draft.quick_replies]
            claimed = not (deferred or outbound)
            message = repo.new_outbound(
                conversation, author="bot", text=part, payload=payload, now=now, claimed=claimed
            )
            session.add(message)
            outbound.append(message)
    _hand_off_if_decided(conversation, turn, now)
    if turn.handoff_reason:
        await _notify_handoff(session, tenant, conversation, turn.handoff_reason, outcome)
    await session.flush()
    await audit.record_bot_replies(session, tenant.seller_id, conversation.id, [m.id for m in outbound])
    await announce(session, tenant.seller_id, "message", conversation.id)
    outcome.outbound = outbound
    outcome.outbound_ids = [m.id for m in outbound]
    if outcome.outbound_ids and deferred:
        for message in outbound:
            message.status = "queued"
        await deps.queue.defer_many(
            session,
            [
                deps.sender.delivery_job(
                    tenant.id, tenant.page_id, conversation.buyer_psid, outcome.outbound_ids
                )
            ],
        )
        outcome.delivery_deferred = True


def _hand_off_if_decided(conversation: Conversation, turn: TurnResult, now: datetime) -> None:
    if turn.handoff_reason:
        modes.apply(conversation, modes.Transition.HAND_OFF, at=now, reason=turn.handoff_reason)


async def _notify_handoff(
    session: AsyncSession,
    tenant: MessengerTenant,
    conversation: Conversation,
    reason: str,
    outcome: TurnOutcome,
) -> None:
    kind = "scam" if reason == "scam" else "handoff"
    await notify_seller(session, tenant.id, conversation.id, kind, _handoff_text(reason))
    outcome.graph_actions.append("pass_thread_control")


LOOP_REASON = "loop"


# The loop breaker counts the bot replies a thread drew within this many seconds.
LOOP_WINDOW_SECONDS = 60


def _loop_detected(
    deps: ConversationDeps, conversation: Conversation, bot_replies: int, now: datetime
) -> bool:
    """Whether this thread drew more bot replies in the last minute than the loop breaker allows.

    ``bot_replies``: the count since a minute before ``now``, read with the turn's first statement."""
    last = conversation.last_bot_message_at
    if last is None or (now - last).total_seconds() >= LOOP_WINDOW_SECONDS:
        return False
    return bot_replies >= deps.loop_limit_per_minute


# Long enough for Meta's echo of a send that did go through to reconcile it first (then nothing is resent).
ORPHAN_GRACE_SECONDS = 15.0


async def _requeue_orphans(
    session: AsyncSession, deps: ConversationDeps, tenant: MessengerTenant, conversation: Conversation
) -> None:
    """Hand replies left ``pending`` by a dead worker to a delayed delivery job (nothing is lost).

    A ``sending`` reply is claimed: its sender may still be alive (a stalled-job recovery re-runs jobs
    whose worker waits for the database), so the job is delayed until the claim goes stale, and it sends
    only if neither the sender's record nor Meta's echo resolved it by then (``sending.repository.claim``).
    """
    orphans = await repo.orphaned_outbound(session, tenant.id, conversation.id)
    if not orphans:
        return
    now = deps.clock()
    pending = [message_id for message_id, claimed_at in orphans if claimed_at is None]
    if pending:
        await session.execute(update(Message).where(Message.id.in_(pending)).values(status="queued"))
    # One job for all, in order: a later part must not overtake a claimed one.
    timeout = timedelta(seconds=SENDING_CLAIM_TIMEOUT_SECONDS)
    stale_in = [(claimed_at + timeout - now).total_seconds() + 1 for _, claimed_at in orphans if claimed_at]
    delay = max([ORPHAN_GRACE_SECONDS, *stale_in])
    await deps.queue.defer_many(
        session,
        [
            deps.sender.delivery_job(
                tenant.id, tenant.page_id, conversation.buyer_psid, [i for i, _ in orphans], delay
            )
        ],
    )
    log.warning(
        "orphaned_replies_requeued",
        conversation_id=conversation.id,
        count=len(orphans),
        claimed=len(orphans) - len(pending),
        delay=round(delay, 1),
    )


def _handoff_text(reason: str) -> str:
    if reason == "scam":
        return "This buyer's messages look like a known scam. The assistant stopped; please review."
    if reason == LOOP_REASON:
        return (
            "The assistant drew too many replies in this conversation within a minute (a flood, or another "
            "bot answering it) and stopped; please take a look."
        )
    if reason == "human_request":
        return "The buyer asked to talk to you. The assistant stopped and told them you'll reply."
    return f"The assistant handed this conversation to you ({reason})."


def _auto_resume_due(conversation: Conversation, minutes: int | None, now: datetime) -> bool:
    """A paused conversation resumes by itself after ``minutes`` of seller silence (off when None)."""
    if conversation.mode != "paused" or not minutes:
        return False
    last_human = max(
        (t for t in (conversation.paused_at, conversation.last_seller_message_at) if t is not None),
        default=None,
    )
    return last_human is not None and (now - last_human).total_seconds() >= minutes * 60


# A buyer returning after this long is reminded that they talk to an automated assistant.
_DISCLOSURE_GAP_SECONDS = 7 * 24 * 3600


def _needs_disclosure(conversation: Conversation, now: datetime) -> bool:
    if conversation.disclosed_at is None:
        return True
    last = conversation.last_bot_message_at or conversation.disclosed_at
    return (now - last).total_seconds() > _DISCLOSURE_GAP_SECONDS


def disclosure_for(settings: MessengerSettings, language: str | None) -> str:
    """The automation disclosure in the buyer's language (issue 14).

    The seller's own text for that language if they gave one; else, while the Page keeps the default
    (English) text, the locale's default; else the seller's text as written.
    """
    code = locales.normalise_code(language)
    own = (settings.disclosure_texts or {}).get(code)
    if own:
        return str(own)
    if code != locales.DEFAULT and settings.disclosure_text == locales.value(locales.DEFAULT, "DISCLOSURE"):
        return str(locales.value(code, "DISCLOSURE"))
    return settings.disclosure_text


def listing_facts(listing: Listing, answered: dict[str, str] | None = None) -> ListingFacts:
    """The listing as the pure negotiation code sees it (no floor: that lives in SellerRules only).

    ``answered`` are the seller's answers to buyers' questions (topic → answer); the listing's own
    ``details`` win where both say something.
    """
    details = {**(answered or {}), **{str(k): str(v) for k, v in (listing.details or {}).items()}}
    return ListingFacts(
        listing_id=listing.id,
        year=listing.year,
        make=listing.make,
        model=listing.model,
        trim=listing.trim,
        mileage=listing.mileage,
        features=tuple(str(f) for f in listing.features or ()),
        photos=tuple(str(p) for p in listing.photos or ()),
        description=listing.description,
        location=listing.location,
        details=details,
        status=listing.status or "active",
    )


def ms_to_datetime(timestamp_ms: int) -> datetime:
    """Meta's millisecond timestamps as aware UTC datetimes."""
    return datetime.fromtimestamp(timestamp_ms / 1000.0, tz=UTC)
