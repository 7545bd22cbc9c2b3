"""The conversation's one hook into test drives: after the composer decided a turn, book, move or cancel.

The pipeline calls :meth:`SchedulingHook.after_compose` inside the conversation job's transaction. When
the buyer proposes a time (the composer's ``propose_viewing``, a slot's quick reply, or words about a
booked test drive), the hook takes the slot through :mod:`scheduling.service` and the reply states the
outcome — booked with the exact place, or the nearest free slots as quick replies, or moved, or
cancelled. Any other turn is returned unchanged. Every text it writes passes the negotiation guard.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.composer import Draft, TurnContext, TurnResult
from accorria_agent.conversations.hooks import TurnHook
from accorria_agent.conversations.negotiation_composer import seller_rules
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.negotiation.lexicon import normalize
from accorria_agent.negotiation.money import prepare
from accorria_agent.negotiation.schemas import Intent
from accorria_agent.negotiation.timeparse import find_time
from accorria_agent.negotiation.understanding import understand
from accorria_agent.scheduling import repository as repo
from accorria_agent.scheduling import service, texts
from accorria_agent.scheduling.models import Booking
from accorria_agent.scheduling.slots import HORIZON_DAYS, AvailabilityRules, free_slots, zone
from accorria_agent.scheduling.tasks import after_change
from accorria_agent.scheduling.words import booking_change, new_clock
from accorria_agent.sellers.notifications import notify_seller

log = structlog.get_logger(__name__)


class SchedulingHook(TurnHook):
    """Turns a buyer's proposed time into a booking (see the module docstring)."""

    def __init__(self, queue: JobQueue, *, reminder_minutes: int = 120) -> None:
        self.queue = queue
        self.reminder_minutes = reminder_minutes

    async def after_compose(
        self,
        session: AsyncSession,
        tenant: Any,
        conversation: Any,
        listing: Any,
        context: TurnContext,
        turn: TurnResult,
    ) -> TurnResult:
        """The turn as composed, or its reply replaced by the test-drive outcome."""
        # A co-pilot draft books nothing: a slot (and its reminder to the buyer) would act before the
        # seller decided; the composer's own scheduling reply stays the draft.
        if turn.handoff_reason or listing is None or context.listing is None or context.drafting:
            return turn
        turn_ = _Turn(self, session, tenant, conversation, listing, context, turn)
        draft = await turn_.run()
        if draft is None:
            return turn
        return TurnResult(
            drafts=[draft],
            state=turn.state,
            handoff_reason=None,
            decision={**turn.decision, "scheduling": turn_.outcome},
            language=turn.language,
        )


class _Turn:
    """One turn's scheduling work (keeps the values every branch needs)."""

    def __init__(
        self,
        hook: SchedulingHook,
        session: AsyncSession,
        tenant: Any,
        conversation: Any,
        listing: Any,
        context: TurnContext,
        turn: TurnResult,
    ) -> None:
        self.hook = hook
        self.session = session
        self.tenant = tenant
        self.conversation = conversation
        self.listing = listing
        self.context = context
        self.turn = turn
        self.now: datetime = context.now
        self.outcome = "none"
        assert context.listing is not None
        self.facts = context.listing
        self.car = self.facts.name
        # The buyer's language: this turn's, else the conversation's (kept in the negotiation state).
        state = conversation.negotiation_state or {}
        self.language: str | None = turn.language or state.get("language")

    async def run(self) -> Draft | None:
        slot = None
        for item in self.context.inputs:
            slot = texts.parse_slot_payload(item.quick_reply_payload or item.postback_payload) or slot
        said = [
            i
            for i in self.context.inputs
            if i.text.strip()
            and texts.parse_slot_payload(i.quick_reply_payload or i.postback_payload) is None
        ]
        joined = " ".join(i.text for i in said)
        change = booking_change(joined) if joined else None
        schedule = self.turn.decision.get("action") == "propose_viewing"
        prepared = [(i, prepare(normalize(i.text))) for i in said]
        # The hot path: a turn about nothing of this (no slot, no scheduling, no time, no change words)
        # costs no query at all.
        timed = any(find_time(p, i.sent_at, self.context.timezone) for i, p in prepared)
        if slot is None and not schedule and change is None and not timed:
            return None
        rules, place = await service.availability_rules(
            self.session, self.tenant.seller_id, tenant_id=self.tenant.id, listing_id=self.listing.id
        )
        self.rules: AvailabilityRules = rules
        self.address = place.address
        self.area = place.area or self.facts.location
        tz = rules.timezone
        wanted, has_day = slot, slot is not None
        for item, text in prepared:
            mention = find_time(text, item.sent_at, tz)  # again, in the seller's own timezone
            if mention is not None and (
                schedule or Intent.SCHEDULE in understand(item.text, None, item.sent_at, tz).intents
            ):
                wanted, has_day, schedule = mention.when, mention.has_day, True
        active = await repo.active_booking(self.session, self.tenant.id, self.conversation.id)
        if active is not None:
            return await self._booked(
                active,
                wanted,
                has_day,
                change,
                joined,
                schedule or slot is not None,
            )
        if wanted is not None and (schedule or slot is not None):
            return await self._book(wanted)
        if schedule:
            return self._offer(None, await self._next_free(), taken=False)
        return None

    async def _next_free(self, exclude_id: int | None = None) -> list[datetime]:
        """The next three free slots from now (a booking being moved does not block itself)."""
        busy = await repo.busy_intervals(
            self.session,
            self.tenant.seller_id,
            self.now,
            self.now + timedelta(days=HORIZON_DAYS + 1),
            exclude_id=exclude_id,
        )
        return free_slots(self.rules, self.now, busy)[:3]

    def _say(self, text: str, quick: tuple[tuple[str, str], ...] = ()) -> Draft:
        safe = texts.guarded(
            text, seller_rules(self.listing), self.facts, self.address, self.area, language=self.language
        )
        return Draft(text=safe, quick_replies=quick if safe == text else (), source="scheduling")

    def _offer(
        self, wanted: datetime | None, slots: list[datetime], *, taken: bool, keeping: str | None = None
    ) -> Draft:
        tz, lang = self.rules.timezone, self.language
        self.outcome = "offered"
        text = texts.offer(
            texts.when_text(wanted, tz, lang) if wanted else None,
            [texts.when_text(s, tz, lang) for s in slots],
            self.area,
            taken=taken,
            keeping=keeping,
            language=lang,
        )
        return self._say(text, texts.slot_quick_replies(slots, tz, lang))

    async def _book(self, wanted: datetime) -> Draft:
        result = await service.book(
            self.session,
            seller_id=self.tenant.seller_id,
            tenant_id=self.tenant.id,
            conversation_id=self.conversation.id,
            listing_id=self.listing.id,
            summary=f"Test drive: {self.car}",
            location=self.address or self.area,
            rules=self.rules,
            wanted=wanted,
            now=self.now,
        )
        if result.booking is None:
            return self._offer(wanted, result.alternatives, taken=result.taken)
        booking = result.booking
        self.outcome = "booked"
        await self._changed(booking, "REQUEST", "booked")
        when = texts.when_text(booking.starts_at, booking.timezone, self.language)
        return self._say(texts.booked(self.car, when, self.address, self.language))

    async def _booked(
        self,
        active: Booking,
        wanted: datetime | None,
        has_day: bool,
        change: str | None,
        joined: str,
        schedule: bool,
    ) -> Draft | None:
        tz = zone(self.rules.timezone)
        local_day = active.starts_at.astimezone(tz).date()
        if wanted is None and change == "reschedule":
            clock = new_clock(joined)
            if clock is not None:
                wanted, has_day = datetime.combine(local_day, clock, tz), True
        elif wanted is not None and not has_day:
            wanted = datetime.combine(local_day, wanted.astimezone(tz).time(), tz)
        lang = self.language
        when_now = texts.when_text(active.starts_at, active.timezone, lang)
        if wanted is not None and (change is not None or schedule):
            if wanted == active.starts_at:
                self.outcome = "unchanged"
                return self._say(texts.already_booked(self.car, when_now, self.address, lang))
            previous_start = active.starts_at
            result = await service.move(self.session, active, self.rules, wanted, self.now)
            if result.booking is None:
                return self._offer(wanted, result.alternatives, taken=result.taken, keeping=when_now)
            self.outcome = "moved"
            seller_when = texts.when_text(previous_start, active.timezone)  # the seller reads English
            await self._changed(active, "REQUEST", f"moved from {seller_when} to")
            moved_to = texts.when_text(active.starts_at, active.timezone, lang)
            return self._say(texts.moved(moved_to, self.address, lang))
        if change == "cancel":
            await service.cancel(self.session, active, actor_kind="buyer")
            self.outcome = "cancelled"
            await self._changed(active, "CANCEL", "cancelled")
            slots = await self._next_free()
            return self._say(
                texts.cancelled(when_now, bool(slots), lang),
                texts.slot_quick_replies(slots, active.timezone, lang),
            )
        if change == "reschedule":
            slots = await self._next_free(exclude_id=active.id)
            return self._offer(None, [s for s in slots if s != active.starts_at], taken=False)
        if schedule:
            self.outcome = "unchanged"
            return self._say(texts.already_booked(self.car, when_now, self.address, lang))
        return None

    async def _changed(self, booking: Booking, method: str, verb: str) -> None:
        """Tell the seller (dashboard notification; the .ics by mail in a job) and plan the reminder."""
        await after_change(
            self.session,
            self.hook.queue,
            booking,
            method=method,
            now=self.now,
            lead_minutes=self.hook.reminder_minutes,
        )
        when = texts.when_text(booking.starts_at, booking.timezone)
        buyer = self.conversation.buyer_name or "a buyer"
        await notify_seller(
            self.session,
            self.tenant.id,
            self.conversation.id,
            "test_drive",
            f"Test drive {verb} {when} with {buyer} ({self.car}). "
            f"Calendar invitation: /api/bookings/{booking.id}/invite.ics",
        )
        log.info("test_drive_changed", booking_id=booking.id, change=verb.split()[0])
