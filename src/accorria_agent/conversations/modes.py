"""The one owner of a conversation's mode: who answers the buyer (the bot, nobody, or the seller).

Modes: ``bot`` (the assistant answers), ``paused`` (a person took over: the bot is silent) and
``handed_off`` (the assistant handed the buyer to the seller; only its handoff notice may still go out).

Every change of mode is one of the transitions of :data:`TRANSITIONS`, an explicit table of which modes it
may start from, where it goes and what else it resets. :func:`transition` is pure (it returns the new
fields); :func:`apply` writes them to a :class:`Conversation` and is the only code that assigns
``Conversation.mode`` (``tests/conversations/test_modes.py`` checks the source tree for other writers).

Invariant kept by the table: ``paused_at`` is set exactly when the mode is not ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from accorria_agent.errors import Conflict

if TYPE_CHECKING:
    from accorria_agent.conversations.models import Conversation

BOT = "bot"
PAUSED = "paused"
HANDED_OFF = "handed_off"
MODES = frozenset({BOT, PAUSED, HANDED_OFF})
MAX_REASON = 200


class Transition(StrEnum):
    """The ways a conversation's mode changes."""

    # The seller wrote to the buyer (Page Inbox echo, dashboard reply) or pressed Pause: the bot yields.
    TAKE_OVER = "take_over"
    # Meta's handover protocol moved the thread away from us (passed, taken, requested).
    PAUSE = "pause"
    # The assistant decided a person must answer (the buyer asked, a scam, a deal to close).
    HAND_OFF = "hand_off"
    # The seller (dashboard) or Meta's handover gave the buyer back to the bot.
    RESUME = "resume"
    # A paused conversation whose seller stayed silent long enough: the bot answers again.
    AUTO_RESUME = "auto_resume"


class IllegalModeTransition(Conflict):
    """A transition asked of a mode it cannot start from (a bug in the caller, never a buyer's doing)."""

    code = "illegal_mode_transition"


@dataclass(frozen=True)
class Rule:
    """One row of the state table."""

    sources: frozenset[str]  # the modes it may start from; any other raises IllegalModeTransition
    target: str
    # Modes from which it changes nothing (already there: the first reason and time are kept).
    keeps: frozenset[str] = frozenset()
    # After a person talked to the buyer, the bot says again that it is an assistant.
    reset_disclosure: bool = False
    # A strategy that had handed off would otherwise hand the buyer straight back.
    clear_handoff: bool = False


TRANSITIONS: dict[Transition, Rule] = {
    Transition.TAKE_OVER: Rule(sources=MODES, target=PAUSED, keeps=frozenset({PAUSED})),
    Transition.PAUSE: Rule(sources=MODES, target=PAUSED),
    Transition.HAND_OFF: Rule(sources=frozenset({BOT}), target=HANDED_OFF),
    Transition.RESUME: Rule(sources=MODES, target=BOT, reset_disclosure=True, clear_handoff=True),
    Transition.AUTO_RESUME: Rule(sources=frozenset({PAUSED}), target=BOT, reset_disclosure=True),
}


@dataclass(frozen=True)
class ModeState:
    """The fields a transition owns."""

    mode: str
    paused_reason: str | None = None
    paused_at: datetime | None = None


@dataclass(frozen=True)
class ModeChange:
    """What a transition does: the new fields, and the other resets it asks for."""

    state: ModeState
    changed: bool
    reset_disclosure: bool = False
    clear_handoff: bool = False


def transition(
    current: ModeState, kind: Transition, *, at: datetime, reason: str | None = None
) -> ModeChange:
    """The mode fields after ``kind`` at ``at`` (pure). Raises :class:`IllegalModeTransition`."""
    rule = TRANSITIONS[kind]
    if current.mode not in rule.sources:
        raise IllegalModeTransition(f"cannot {kind.value} a conversation in mode {current.mode!r}")
    if current.mode in rule.keeps:
        return ModeChange(state=current, changed=False)
    if rule.target == BOT:
        state = ModeState(mode=BOT)
    else:
        state = ModeState(mode=rule.target, paused_reason=(reason or kind.value)[:MAX_REASON], paused_at=at)
    return ModeChange(
        state=state,
        changed=True,
        reset_disclosure=rule.reset_disclosure,
        clear_handoff=rule.clear_handoff,
    )


def state_of(conversation: Conversation) -> ModeState:
    """The mode fields of a conversation as they are now."""
    return ModeState(conversation.mode, conversation.paused_reason, conversation.paused_at)


def apply(conversation: Conversation, kind: Transition, *, at: datetime, reason: str | None = None) -> bool:
    """Apply a transition to ``conversation`` (in the caller's transaction); True when anything changed."""
    change = transition(state_of(conversation), kind, at=at, reason=reason)
    if not change.changed:
        return False
    conversation.mode = change.state.mode
    conversation.paused_reason = change.state.paused_reason
    conversation.paused_at = change.state.paused_at
    if change.reset_disclosure:
        conversation.disclosed_at = None
    state = conversation.negotiation_state
    if change.clear_handoff and state and state.get("handed_off"):
        conversation.negotiation_state = {**state, "handed_off": False}
    return True
