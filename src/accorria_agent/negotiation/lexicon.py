"""Text normalisation and word lists shared by the buyer-message parser.

Everything here is pure and bounded: ``normalize`` cuts the input to ``MAX_CHARS`` before doing any work,
and every regular expression is written without nested unbounded repetition so that hostile input
cannot trigger catastrophic backtracking.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Final

# Buyer messages worth reading are short; anything past this is pasted junk and only costs time.
MAX_CHARS: Final = 2000

# Stable topic codes for vehicle questions, with the listing fields the reply engine should look in.
# ``ListingFacts`` has ``year``/``make``/``model``/``trim``/``mileage``/``features``/``photos``/
# ``description``; everything else is expected in ``ListingFacts.details`` under the same key.
VEHICLE_TOPICS: Final[dict[str, str]] = {
    "mileage": "ListingFacts.mileage",
    "title": "details['title'] (clean / salvage / rebuilt / lien)",
    "accidents": "details['accidents']",
    "condition": "details['condition'] / description (runs, issues, problems, dents)",
    "maintenance": "details['maintenance'] (service records, oil changes, timing belt)",
    "transmission": "details['transmission']",
    "engine": "details['engine']",
    "features": "ListingFacts.features",
    "color": "details['color']",
    "owners": "details['owners']",
    "photos": "ListingFacts.photos",
    "vin": "details['vin']",
    "history": "details['history'] (Carfax / AutoCheck report)",
    "tires": "details['tires']",
    "brakes": "details['brakes']",
    "mpg": "details['mpg']",
    "warranty": "details['warranty']",
    "climate": "details['climate'] (A/C, heat)",
    "rust": "details['rust']",
    "interior": "details['interior'] (seats, smoke, pets, smell)",
    "drivetrain": "details['drivetrain'] (AWD / 4WD / FWD / RWD)",
    "trim": "ListingFacts.trim",
    "year": "ListingFacts.year",
    "registration": "details['registration'] (plates, tags, emissions)",
    "keys": "details['keys']",
    "warning_lights": "details['warning_lights'] (check engine light)",
    "inspection": "details['inspection'] (may a mechanic inspect it)",
    "general": "ListingFacts.description (tell me more about it)",
}

_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_TRANSLATE: Final = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u00bf": " ",
        "\u00a1": " ",
        "\u20ac": "$",
        "\U0001f44d": " ok ",  # thumbs up
        "\U0001f91d": " deal ",  # handshake
        "\U0001f64f": " thanks ",  # folded hands
    }
)
_SPACE_RE: Final = re.compile(r"\s+")

# Misspellings and texting shorthand seen in Marketplace messages, mapped to the word the patterns expect.
TYPOS: Final[dict[str, str]] = {
    "wuld": "would",
    "wud": "would",
    "woud": "would",
    "wold": "would",
    "whould": "would",
    "woudl": "would",
    "u": "you",
    "yu": "you",
    "ur": "your",
    "yur": "your",
    "r": "are",
    "availible": "available",
    "availabe": "available",
    "avaliable": "available",
    "avalible": "available",
    "avalable": "available",
    "availble": "available",
    "availabel": "available",
    "avail": "available",
    "avil": "available",
    "avaible": "available",
    "available?": "available",
    "intrested": "interested",
    "intersted": "interested",
    "interesed": "interested",
    "interessted": "interested",
    "intereted": "interested",
    "millage": "mileage",
    "milage": "mileage",
    "miliage": "mileage",
    "mialage": "mileage",
    "mileages": "mileage",
    "tommorow": "tomorrow",
    "tomorow": "tomorrow",
    "tommorrow": "tomorrow",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "2morrow": "tomorrow",
    "2moro": "tomorrow",
    "tomoro": "tomorrow",
    "tonite": "tonight",
    "2nite": "tonight",
    "2day": "today",
    "thx": "thanks",
    "thnx": "thanks",
    "thanx": "thanks",
    "tnx": "thanks",
    "ty": "thanks",
    "tysm": "thanks",
    "thks": "thanks",
    "pls": "please",
    "plz": "please",
    "wat": "what",
    "wht": "what",
    "whats": "what's",
    "hw": "how",
    "prce": "price",
    "pric": "price",
    "lowes": "lowest",
    "lowset": "lowest",
    "ofer": "offer",
    "tk": "take",
    "tke": "take",
    "tak": "take",
    "acept": "accept",
    "excepted": "accepted",
    "titel": "title",
    "tittle": "title",
    "accidnet": "accident",
    "acident": "accident",
    "transmision": "transmission",
    "tranny": "transmission",
    "carfacts": "carfax",
    "cashiers": "cashier's",
    "cashers": "cashier's",
    "im": "i'm",
    "ill": "i'll",
    "dont": "don't",
    "cant": "can't",
    "wont": "won't",
    "itsz": "it's",
    "lemme": "let me",
    "gimme": "give me",
    "wanna": "want to",
    "gonna": "going to",
    "b4": "before",
    "dis": "this",
    "da": "the",
    "nd": "and",
    "n": "and",
    "k": "k",
    "okey": "okay",
    "okk": "ok",
    "kk": "ok",
    "oki": "ok",
    "yea": "yeah",
    "ye": "yeah",
    "yup": "yep",
    "nah": "no",
    "naw": "no",
    "nope": "no",
    "bro": "bro",
    "pic": "picture",
    "pics": "pictures",
    "tday": "today",
    "mornin": "morning",
    "evenin": "evening",
    "xq": "porque",
    "tb": "tambien",
    "dnd": "donde",
}

_WORD_RE: Final = re.compile(r"[a-z0-9']+")

# Number words (English and Spanish) turned into digits so that one amount parser serves both.
_UNITS: Final[dict[str, int]] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiuno": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
    "doscientos": 200,
    "trescientos": 300,
    "cuatrocientos": 400,
    "quinientos": 500,
    "seiscientos": 600,
    "setecientos": 700,
    "ochocientos": 800,
    "novecientos": 900,
}
_HUNDRED: Final = frozenset({"hundred", "cien", "ciento"})
_THOUSAND: Final = frozenset({"thousand", "grand", "mil"})
_JOINERS: Final = frozenset({"and", "a", "y", "-"})
_NUMBER_WORDS: Final = "|".join(sorted([*_UNITS, *_HUNDRED, *_THOUSAND, "half"], key=len, reverse=True))
# A run of number words, joined by spaces, hyphens, "and", "a" or Spanish "y". Each repetition must consume a
# whole word, so the matcher cannot backtrack badly.
_NUMBER_RUN_RE: Final = re.compile(
    rf"\b(?:{_NUMBER_WORDS}|a(?= (?:grand|thousand|hundred)\b))\b(?:(?:[ -]|[ ](?:and a|and"
    rf"|y)[ ])(?:{_NUMBER_WORDS})\b)*"
)


def _words_to_number(words: list[str]) -> Decimal | None:
    """Value of a run like ``seventy five hundred``, ``seven and a half grand``, ``siete mil quinientos``."""
    total = Decimal(0)
    current = Decimal(0)
    seen_number = False
    seen_multiplier = False
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
            seen_number = True
        elif word in _HUNDRED:
            current = (current or Decimal(1)) * 100
            seen_number = True
        elif word in _THOUSAND:
            total += (current or Decimal(1)) * 1000
            current = Decimal(0)
            seen_number = True
            seen_multiplier = True
        elif word == "half" and seen_number:
            current += Decimal("0.5")
        elif word == "a" and not seen_number:
            current = Decimal(1)  # "a grand", "a thousand"
    if not seen_number:
        return None
    value = total + current
    if seen_multiplier and value < 1000:
        return None
    return value


def _replace_number_run(match: re.Match[str]) -> str:
    text = match.group(0)
    if match.string[: match.start()].rstrip()[-1:].isdigit():
        # "120 thousand" / "7 mil": the digits carry the value; the amount parser reads the multiplier.
        return text
    words = [w for w in re.split(r"[ -]", text) if w]
    value = _words_to_number(words)
    if value is None:
        return text
    if value >= 1000 and value % 100 == 0 and any(w in _THOUSAND or w in _HUNDRED for w in words):
        # Keep the thousands cue ("7.5k") so the amount parser knows a money word was used.
        kilo = (value / 1000).normalize()
        return f"{kilo:f}k"
    return f"{value.normalize():f}"


def words_to_digits(text: str) -> str:
    """Replace spelled-out numbers by digits: ``seven grand`` -> ``7k``, ``siete mil`` -> ``7k``."""
    return _NUMBER_RUN_RE.sub(_replace_number_run, text)


def _fix_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return TYPOS.get(word, word)


def normalize(text: str) -> str:
    """Lower-case, accent-free, typo-corrected text with control characters removed, at most ``MAX_CHARS``.

    Accents are removed (``mañana`` -> ``manana``) so Spanish patterns need one spelling; the bound is applied
    first so that the cost of every later step is capped.
    """
    text = text[:MAX_CHARS]
    text = _CONTROL_RE.sub(" ", text)
    text = text.translate(_TRANSLATE).lower()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
        text = text.translate(_TRANSLATE)
    text = _WORD_RE.sub(_fix_word, text)
    return _SPACE_RE.sub(" ", text).strip()
