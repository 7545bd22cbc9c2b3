"""LLM reading of "other" messages against the fake OpenAI server: validated in code, parser wins on doubt."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from tests.fakes.fake_openai import FakeOpenAI, Script

from accorria_agent.negotiation.llm_reader import LlmReader, merge, validate_reading
from accorria_agent.negotiation.schemas import Intent, Understanding
from accorria_agent.negotiation.understanding import understand

ASK = Decimal(12500)
OTHER = Understanding(intent=Intent.OTHER, intents=(Intent.OTHER,))


def reply(**fields: object) -> Script:
    return Script(text=json.dumps(fields))


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


async def test_a_validated_reading_improves_an_other_message(fake: FakeOpenAI) -> None:
    text = "KBB says it's worth way less, maybe 10500 tops"
    fake.script = reply(intent="offer", offer=10500, vehicle_topic=None)
    reader = LlmReader(fake.client(), "m")
    got = await reader.improve(OTHER, text, ASK)
    assert got.intent is Intent.OFFER and got.offer == Decimal(10500)
    body = fake.requests[-1]
    assert body["response_format"] == {"type": "json_object"} and text in body["messages"][1]["content"]

    fake.script = reply(intent="vehicle_question", offer=None, vehicle_topic="features")
    got = await reader.improve(OTHER, "Does it have autopilot?", ASK)
    assert got.intent is Intent.VEHICLE_QUESTION and got.vehicle_topics == ("features",)


@pytest.mark.parametrize(
    "script",
    [
        reply(intent="offer", offer=9000, vehicle_topic=None),  # 9000 is not in the buyer's text
        reply(intent="human_request", offer=None, vehicle_topic=None),  # never a model's call
        reply(intent="offer", offer=None, vehicle_topic=None),  # an offer without an amount
        reply(intent="vehicle_question", offer=None, vehicle_topic="spaceship"),
        reply(intent="bogus"),
        Script(text="not json at all"),
        Script(mode="malformed"),
        Script(mode="status", status=500),
        Script(mode="no_choices"),
    ],
)
async def test_the_parser_answer_is_kept_when_the_model_fails_or_invents(
    fake: FakeOpenAI, script: Script
) -> None:
    fake.script = script
    reader = LlmReader(fake.client(), "m")
    text = "hmm, I was thinking more along the lines of 10500"
    assert await reader.improve(OTHER, text, ASK) == OTHER
    assert reader.failures == 1


async def test_the_model_is_not_asked_when_the_parser_understood(fake: FakeOpenAI) -> None:
    parsed = understand("would you take 9k?", ASK)
    assert await LlmReader(fake.client(), "m").improve(parsed, "would you take 9k?", ASK) == parsed
    assert fake.requests == []


async def test_a_slow_model_times_out_to_the_parser(fake: FakeOpenAI) -> None:
    fake.script = Script(text=json.dumps({"intent": "accept"}), delay_s=1.0)
    reader = LlmReader(fake.client(), "m", timeout_s=0.05)
    assert await reader.improve(OTHER, "ok then", ASK) == OTHER


def test_the_parser_validated_number_wins_over_a_disagreeing_model() -> None:
    parsed = Understanding(intent=Intent.OTHER, intents=(Intent.OTHER,), offer=Decimal(10000))
    read = validate_reading(json.dumps({"intent": "offer", "offer": 9500}), "10000 or 9500", ASK)
    assert read is not None and merge(parsed, read) == parsed
    assert validate_reading(json.dumps({"intent": "offer", "offer": 100}), "100", ASK) is None  # implausible
    assert validate_reading("[1, 2]", "x", ASK) is None
