"""Reply wording of the default locale (English), kept under its old name for existing imports.

The wording now lives in ``negotiation/locales/<code>.py``, one file per language (see
``negotiation.locales``); this module re-exports the English tables.
"""

from accorria_agent.negotiation.locales.en import (
    ACTION,
    DESCRIPTION_FACT,
    EXTRA,
    FACT_SENTENCES,
    GENERIC_FACT,
    PROMISE_TOPICS,
    TOPIC_LABELS,
    TOPIC_SYNONYMS,
    Variants,
)

__all__ = [
    "ACTION",
    "DESCRIPTION_FACT",
    "EXTRA",
    "FACT_SENTENCES",
    "GENERIC_FACT",
    "PROMISE_TOPICS",
    "TOPIC_LABELS",
    "TOPIC_SYNONYMS",
    "Variants",
]
