"""What the questions API accepts and returns. Inputs are strict: unknown fields are refused (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Long enough for a real answer, short enough to fit one Messenger message with its lead-in.
MAX_ANSWER_CHARS = 1000

AnswerText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ANSWER_CHARS)
]


class AnswerIn(BaseModel):
    """The seller's answer to a buyer's question (``POST /api/questions/{id}/answer``)."""

    model_config = ConfigDict(extra="forbid")

    answer: AnswerText


class FactIn(BaseModel):
    """A new wording of a listing fact (``PUT /api/listings/{listing_id}/facts/{fact_id}``)."""

    model_config = ConfigDict(extra="forbid")

    answer: AnswerText


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class QuestionOut(_Out):
    id: int
    listing_id: int
    conversation_id: int
    topic: str
    question: str
    language: str
    status: str
    answer: str | None = None
    created_at: datetime
    answered_at: datetime | None = None


class FactOut(_Out):
    id: int
    listing_id: int
    topic: str
    answer: str
    created_at: datetime
    updated_at: datetime


class DeliveryOut(_Out):
    """The relayed answer in one buyer's conversation: ``sent``, or ``refused`` with the reason."""

    conversation_id: int
    message_id: int
    status: str
    status_reason: str | None = None


class AnswerOut(_Out):
    question: QuestionOut
    fact: FactOut
    deliveries: list[DeliveryOut]
