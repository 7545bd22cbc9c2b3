"""The mode state table: its invariants over random transition sequences, and that it is the only writer."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.conversations import modes
from accorria_agent.conversations.models import Conversation
from accorria_agent.errors import Conflict

SRC = Path(__file__).resolve().parents[2] / "src" / "accorria_agent"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

steps = st.lists(
    st.tuples(st.sampled_from(list(modes.Transition)), st.integers(0, 10_000), st.text(max_size=300)),
    max_size=30,
)


def _conversation() -> Conversation:
    return Conversation(
        tenant_id=1, buyer_psid="p", mode="bot", negotiation_state={"handed_off": True}, disclosed_at=T0
    )


@given(steps)
def test_random_sequences_keep_the_invariants(sequence: list[tuple[modes.Transition, int, str]]) -> None:
    conversation = _conversation()
    for kind, minutes, reason in sequence:
        at = T0 + timedelta(minutes=minutes)
        before = modes.state_of(conversation)
        rule = modes.TRANSITIONS[kind]
        if before.mode not in rule.sources:
            with pytest.raises(modes.IllegalModeTransition):
                modes.apply(conversation, kind, at=at, reason=reason)
            assert modes.state_of(conversation) == before  # a refused transition changes nothing
            continue
        changed = modes.apply(conversation, kind, at=at, reason=reason)
        after = modes.state_of(conversation)
        assert after.mode in modes.MODES
        assert (after.paused_at is not None) == (after.mode != modes.BOT)
        assert (after.paused_reason is not None) == (after.mode != modes.BOT)
        assert len(after.paused_reason or "") <= modes.MAX_REASON
        if changed:
            assert after.mode == rule.target
            if rule.reset_disclosure:
                assert conversation.disclosed_at is None
            if rule.clear_handoff:
                assert not (conversation.negotiation_state or {}).get("handed_off")
        else:
            assert after == before
        # Repeating a transition that is allowed again changes nothing more (or restarts a pause).
        if after.mode in rule.sources:
            again = modes.transition(after, kind, at=at, reason=reason)
            assert again.state.mode == after.mode


def test_auto_resume_clears_paused_at() -> None:
    # The drift the state table fixes: the pipeline's auto-resume used to leave paused_at behind.
    conversation = _conversation()
    modes.apply(conversation, modes.Transition.TAKE_OVER, at=T0, reason="seller replied")
    assert conversation.mode == "paused" and conversation.paused_at == T0
    assert modes.apply(conversation, modes.Transition.AUTO_RESUME, at=T0 + timedelta(hours=1))
    assert (conversation.mode, conversation.paused_at, conversation.paused_reason) == ("bot", None, None)


def test_take_over_keeps_the_first_pause() -> None:
    conversation = _conversation()
    modes.apply(conversation, modes.Transition.TAKE_OVER, at=T0, reason="first")
    assert not modes.apply(conversation, modes.Transition.TAKE_OVER, at=T0 + timedelta(1), reason="again")
    assert (conversation.paused_reason, conversation.paused_at) == ("first", T0)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("paused", modes.Transition.HAND_OFF),
        ("handed_off", modes.Transition.HAND_OFF),
        ("bot", modes.Transition.AUTO_RESUME),
        ("handed_off", modes.Transition.AUTO_RESUME),
    ],
)
def test_illegal_transitions_raise_a_typed_conflict(mode: str, kind: modes.Transition) -> None:
    state = modes.ModeState(mode=mode, paused_reason="x", paused_at=T0)
    with pytest.raises(Conflict) as raised:
        modes.transition(state, kind, at=T0)
    assert raised.value.status_code == 409
    assert raised.value.code == "illegal_mode_transition"


def _mode_writers(tree: ast.AST) -> list[int]:
    """Lines that assign ``<anything>.mode`` (plain, augmented, annotated or via setattr)."""
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "mode"
        ):
            lines.append(node.lineno)
        for target in targets:
            for element in ast.walk(target):
                if isinstance(element, ast.Attribute) and element.attr == "mode":
                    lines.append(node.lineno)
    return lines


def test_the_state_table_is_the_only_writer_of_a_conversations_mode() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] in ("migrations", "simulator", "bench") or relative == Path(
            "conversations/modes.py"
        ):
            continue  # the simulator's and benchmarks' own objects are not conversations
        for line in _mode_writers(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{relative}:{line}")
    assert offenders == []


def test_the_writer_check_finds_a_write() -> None:
    tree = ast.parse("def f(c):\n    c.mode = 'bot'\n    setattr(c, 'mode', 'x')\n")
    assert _mode_writers(tree) == [2, 3]
