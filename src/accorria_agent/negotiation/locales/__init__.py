"""Reply wording per language: one module per locale (``en.py``, ``es.py`` …), found by file name.

Adding a language is adding a file here with the same names as ``en.py`` (``ACTION``, ``EXTRA``,
``FACT_SENTENCES``, ``MARKERS`` …): any name or key it leaves out falls back to English, so a partial
translation still phrases every decision. Nothing else changes: :func:`available` lists the files and
language detection (``negotiation.language``) reads each locale's ``MARKERS``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from types import ModuleType
from typing import Any

DEFAULT = "en"
_CODE_RE = re.compile(r"[a-z]{2}")


@cache
def available() -> tuple[str, ...]:
    """The language codes that have a locale file, the default first."""
    codes = sorted(m.name for m in pkgutil.iter_modules(__path__) if _CODE_RE.fullmatch(m.name))
    return (DEFAULT, *(c for c in codes if c != DEFAULT))


@cache
def _module(code: str) -> ModuleType:
    if code not in available():
        code = DEFAULT
    return importlib.import_module(f"{__name__}.{code}")


def normalise_code(code: str | None) -> str:
    """``code`` if a locale file exists for it, else the default (``en``)."""
    return code if code in available() else DEFAULT


def value(code: str | None, name: str) -> Any:
    """The locale's value for ``name`` (e.g. ``SELLER_ANSWER``), or the English one when it has none."""
    module = _module(normalise_code(code))
    return getattr(module, name, getattr(_module(DEFAULT), name))


def entry(code: str | None, table: str, key: str) -> Any:
    """One entry of a locale table (``ACTION``/``EXTRA``/``FACT_SENTENCES``…), falling back to English."""
    own: dict[str, Any] = getattr(_module(normalise_code(code)), table, {})
    if key in own:
        return own[key]
    english: dict[str, Any] = getattr(_module(DEFAULT), table)
    return english[key]


def lookup(code: str | None, table: str, key: str, default: Any = None) -> Any:
    """Like :func:`entry` but ``default`` when neither the locale nor English has ``key``."""
    own: dict[str, Any] = getattr(_module(normalise_code(code)), table, {})
    if key in own:
        return own[key]
    return getattr(_module(DEFAULT), table, {}).get(key, default)
