"""Which language a buyer writes in, from the words of one message (pure, offline, no model).

Each locale file (``negotiation/locales/<code>.py``) lists ``MARKERS``: common words of that language in
normalised form. A message's language is the locale with the most marker words that no other locale
shares, plus signs only one language uses (``¿``, ``¡``, ``ñ`` for Spanish). A message with no clear
signal (``"ok"``, ``"9000?"``, an emoji) has no language: the conversation keeps the one it had.
"""

from __future__ import annotations

import re
from functools import cache

from accorria_agent.negotiation import locales
from accorria_agent.negotiation.lexicon import normalize

_WORD_RE = re.compile(r"[a-z]+")
_SPANISH_SIGNS = re.compile(r"[¿¡ñÑ]")


@cache
def _distinct_markers() -> dict[str, frozenset[str]]:
    """Each locale's marker words minus those any other locale also lists (ambiguous words don't count)."""
    markers = {code: frozenset(locales.value(code, "MARKERS")) for code in locales.available()}
    out = {}
    for code, words in markers.items():
        others = frozenset().union(*(w for c, w in markers.items() if c != code))
        out[code] = words - others
    return out


def detect_language(text: str) -> str | None:
    """The language code of ``text`` (``"en"``, ``"es"`` …), or None when the message gives no signal."""
    if not isinstance(text, str) or not text.strip():
        return None
    words = _WORD_RE.findall(normalize(text))
    scores = {code: sum(1 for w in words if w in markers) for code, markers in _distinct_markers().items()}
    if "es" in scores and _SPANISH_SIGNS.search(text[:2000]):
        scores["es"] += 2
    best = max(scores.values(), default=0)
    if best == 0:
        return None
    winners = [code for code, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None


def turn_language(texts: list[str], previous: str | None) -> str:
    """The language to answer a turn in: the last message with a clear signal, else ``previous``/English."""
    for text in reversed(texts):
        code = detect_language(text)
        if code is not None:
            return code
    return locales.normalise_code(previous)
