"""The production composer: understand ▸ decide ▸ phrase ▸ guard, for one turn of a conversation.

A burst of buyer messages is one turn: each message is understood on its own and the results are
merged (all intents, the latest offer and time, any scam signal), so "hi" / "is it available" /
"would you take 9k" gets one coherent answer. Quick-reply and postback payloads of ours are routed
by payload; foreign payloads fall back to the text.

Whatever phrases the reply, :func:`check_reply` runs on the final text here, with the real floor; a
text that fails is replaced by the template, and a template that fails (a bug) by a neutral line.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from accorria_agent.conversations.composer import BuyerInput, Draft, TurnContext, TurnResult
from accorria_agent.negotiation.guard import check_reply
from accorria_agent.negotiation.language import turn_language
from accorria_agent.negotiation.phrasing import Phraser, TemplatePhraser
from accorria_agent.negotiation.replies import render_template, unanswered_topics
from accorria_agent.negotiation.schemas import (
    ActionKind,
    Decision,
    Intent,
    ListingFacts,
    NegotiationState,
    SellerRules,
    Tone,
    Understanding,
    primary_intent,
)
from accorria_agent.negotiation.strategy import allowed_amounts, decide, standing_price
from accorria_agent.negotiation.understanding import understand

log = structlog.get_logger(__name__)

NEUTRAL_REPLY = "Thanks for your message! The seller will get back to you here shortly."

# Our quick-reply / postback payloads and what a tap on them means.
PAYLOAD_INTENTS: dict[str, Intent] = {
    "TALK_TO_SELLER": Intent.HUMAN_REQUEST,
    "SCHEDULE_TEST_DRIVE": Intent.SCHEDULE,
    "VIEW_DETAILS": Intent.VEHICLE_QUESTION,
    "START_ESCROW": Intent.PAYMENT,
    "GET_STARTED": Intent.GREETING,
    "MAKE_OFFER": Intent.OTHER,  # handled specially: ask for their number, concede nothing
}


def seller_rules(listing: Any) -> SellerRules:
    """The seller's rules from a listing row (duck-typed so the pure code needs no ORM import)."""
    threshold = getattr(listing, "auto_accept_threshold", None)
    tone = str(getattr(listing, "response_tone", "friendly"))
    return SellerRules(
        asking_price=Decimal(listing.asking_price),
        price_floor=Decimal(listing.price_floor),
        auto_accept_threshold=Decimal(threshold) if threshold is not None else None,
        max_concessions=int(getattr(listing, "max_concessions", 3)),
        response_tone=Tone(tone) if tone in Tone._value2member_map_ else Tone.FRIENDLY,
        escrow_enabled=bool(getattr(listing, "escrow_enabled", True)),
    )


def understand_turn(inputs: list[BuyerInput], asking: Decimal, timezone: str) -> tuple[Understanding, bool]:
    """Merge the understanding of every message of the turn; returns it and whether MAKE_OFFER was tapped."""
    parts: list[Understanding] = []
    make_offer = False
    for item in inputs:
        payload = item.quick_reply_payload or item.postback_payload
        mapped = PAYLOAD_INTENTS.get(payload or "")
        if payload == "MAKE_OFFER":
            make_offer = True
            continue
        if mapped is not None:
            parts.append(
                Understanding(
                    intent=mapped,
                    intents=(mapped,),
                    vehicle_topics=("features",) if mapped is Intent.VEHICLE_QUESTION else (),
                )
            )
            continue
        if item.text.strip():
            parts.append(understand(item.text, asking, item.sent_at, timezone))
    if not parts:
        return Understanding(intent=Intent.OTHER, intents=(Intent.OTHER,)), make_offer
    intents: set[Intent] = set()
    for part in parts:
        intents.update(part.intents or (part.intent,))
    if len(intents) > 1:
        intents.discard(Intent.OTHER)
    offers = [p.offer for p in parts if p.offer is not None]
    times = [p.proposed_time for p in parts if p.proposed_time is not None]
    ordered = tuple(i for i in Intent if i in intents)
    merged = Understanding(
        intent=primary_intent(intents),
        intents=ordered,
        offer=offers[-1] if offers else None,
        scam=any(p.scam for p in parts),
        scam_reasons=tuple(dict.fromkeys(r for p in parts for r in p.scam_reasons)),
        proposed_time=times[-1] if times else None,
        vehicle_topics=tuple(dict.fromkeys(t for p in parts for t in p.vehicle_topics)),
    )
    if merged.offer is None and merged.intent is Intent.OFFER:
        merged = replace(merged, intent=primary_intent(intents - {Intent.OFFER}))
    return merged, make_offer


if TYPE_CHECKING:
    # Only for the annotation: the template path must never import the OpenAI SDK.
    from accorria_agent.negotiation.llm_reader import LlmReader


class NegotiationComposer:
    """Composer backed by the negotiation package; ``phraser`` is the template or the guarded LLM."""

    def __init__(self, phraser: Phraser | None = None, reader: LlmReader | None = None) -> None:
        self.phraser: Phraser = phraser or TemplatePhraser()
        # Optional LLM reading of messages the parser leaves as "other" (validated; issue 14).
        self.reader = reader
        # Templates need no conversation history; only an LLM phraser gets it (saves a query per turn).
        self.wants_history = not isinstance(self.phraser, TemplatePhraser)

    async def compose(self, context: TurnContext) -> TurnResult:
        if context.listing is None or context.rules is None:
            return TurnResult(
                drafts=[Draft(text=NEUTRAL_REPLY)],
                state=context.state,
                handoff_reason="no active listing for this Page",
            )
        rules = seller_rules(context.rules)
        listing = context.listing
        state = NegotiationState.from_json(context.state)
        # --- issue 14: the buyer's language, detected per message and kept for the conversation.
        language = turn_language([i.text for i in context.inputs], state.language)
        state = replace(state, language=language)
        understood, make_offer = understand_turn(context.inputs, rules.asking_price, context.timezone)
        if self.reader is not None and understood.intent is Intent.OTHER:
            # --- issue 14: an "other" turn may be read by the LLM (validated in code; parser wins on doubt).
            texts = " ".join(i.text for i in context.inputs if i.text)
            understood = await self.reader.improve(understood, texts, rules.asking_price)
        if make_offer and understood.intent in (Intent.OTHER, Intent.GREETING):
            standing = standing_price(rules, state)
            decision = Decision(
                action=ActionKind.ASK_OFFER,
                amount=standing,
                allowed_amounts=allowed_amounts(rules, state, standing),
            )
            new_state = state
        else:
            decision, new_state = decide(rules, state, understood)
        decision = replace(decision, language=language)
        # --- issue 14: what the listing cannot answer is asked of the seller (questions domain).
        questions = unanswered_topics(decision, listing)
        seed = zlib.crc32(f"{context.conversation_id}:{new_state.turns}".encode())
        text, quick_replies, source = await self._phrase(decision, listing, rules, context, seed)
        handoff = None
        if decision.action in (ActionKind.HANDOFF, ActionKind.WARN_SCAM):
            handoff = decision.handoff_reason or decision.action.value
        log.debug(
            "turn_decided",
            conversation_id=context.conversation_id,
            action=decision.action.value,
            intent=understood.intent.value,
            source=source,
        )
        return TurnResult(
            drafts=[Draft(text=text, quick_replies=quick_replies, source=source)],
            state=new_state.to_json(),
            handoff_reason=handoff,
            decision={
                "action": decision.action.value,
                "amount": None if decision.amount is None else str(decision.amount),
                "intent": understood.intent.value,
            },
            language=language,
            seller_questions=questions,
        )

    async def _phrase(
        self, decision: Decision, listing: ListingFacts, rules: SellerRules, context: TurnContext, seed: int
    ) -> tuple[str, tuple[tuple[str, str], ...], str]:
        reply = await self.phraser.phrase(decision, listing, rules.response_tone, context.history, seed)
        verdict = check_reply(reply.text, decision, rules, listing=listing)
        if verdict.ok:
            return reply.text, reply.quick_replies, reply.source
        # The phraser's own guard ran without the real floor; this one has it (defence in depth).
        log.warning("reply_failed_final_guard", source=reply.source, reasons=list(verdict.reasons))
        template = render_template(decision, listing, rules.response_tone, seed)
        if check_reply(template.text, decision, rules, listing=listing).ok:
            return template.text, template.quick_replies, "template"
        log.error("template_failed_guard", action=decision.action.value)
        return NEUTRAL_REPLY, (), "neutral"
