"""The outbound-text guard: the last check between any phrased reply and the buyer.

``check_reply`` compares a reply text with the ``Decision`` it is supposed to express and the seller's
rules. It is pure and deliberately paranoid: it would rather reject a harmless text (the caller then
falls back to a template) than let through a wrong price, an acceptance the strategy did not make, the
secret floor, or contact data. Templates are tested to always pass it; LLM text often will not.

Reason codes are a small fixed vocabulary (see ``REASONS``) so they can be used as metric labels.
They never contain the floor or any other amount.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from accorria_agent.negotiation.schemas import ActionKind, Decision, ListingFacts, SellerRules

MAX_REPLY_CHARS = 640
ESCROW_FEE_RATE = Decimal("0.009")

REASONS: tuple[str, ...] = (
    "empty",
    "too_long",
    "amount_not_allowed",
    "below_floor",
    "acceptance_language",
    "accept_missing_amount",
    "accept_with_rejection",
    "floor_disclosure",
    "unmade_promise",
    "url",
    "phone",
    "email",
    "code",
)


@dataclass(frozen=True)
class GuardVerdict:
    """Whether a text may be sent; ``reasons`` lists every violated rule (codes from ``REASONS``)."""

    ok: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class MoneyMention:
    """One money amount found in a text; ``start``/``end`` index the *normalised* text."""

    value: Decimal
    start: int
    end: int


def escrow_fee(price: Decimal) -> Decimal:
    """The Accorria escrow fee for ``price`` (0.9 %, rounded to cents)."""
    return (price * ESCROW_FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def decision_fee(decision: Decision) -> Decimal | None:
    """The escrow fee a reply to ``decision`` may state, if any.

    Uses ``decision.fee_amount`` when the strategy provides it; otherwise derives it from the agreed
    amount when escrow is a next step (older decisions replayed from storage have no fee).
    """
    if decision.fee_amount is not None:
        return decision.fee_amount
    if decision.amount is not None and "escrow" in decision.next_steps:
        return escrow_fee(decision.amount)
    return None


def normalize_text(text: str) -> str:
    """NFKC-normalise, drop zero-width characters and unify apostrophes, so look-alikes cannot hide words."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff\u00ad]", "", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")


# ---------------------------------------------------------------------------------------------------
# Money detection
# ---------------------------------------------------------------------------------------------------

# Digits: "11,800" / "11,800.50", European "11.800", plain "11800" / "11.8". Multipliers: 11.8k, 12 grand.
_AMOUNT_RE = re.compile(
    r"(?P<pre>(?:us\s?)?\$|\busd|€|£)?[ \t]{0,2}"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+(?![\d.,])|\d+(?:\.\d+)?)"
    r"(?P<mult>[ \t]?(?:k(?![a-z])|grand\b|thousand\b|hundred\b|mil\b))?",
    re.IGNORECASE,
)
_CURRENCY_AFTER_RE = re.compile(r"\s*(?:dollars?\b|bucks\b|usd\b|\$|€|£|d[oó]lares\b|pesos\b)", re.I)
_PERCENT_RE = re.compile(r"\s*(?:%|percent\b|por ?ciento\b)", re.I)
# Units after which a number is a quantity, not a price ("45,000 miles", "2.0 L", "3 pm").
_UNIT_RE = re.compile(
    r"\s*-?\s*(?:miles?|mi|km|kms|kilomet\w*|millas|mph|mpg|kpl|hp|horsepower|cc|l|liters?|litres?|"
    r"lbs?|pounds|kg|owners?|photos?|pics?|pictures?|images?|days?|hours?|hrs?|minutes?|mins?|"
    r"seconds?|weeks?|months?|years?|yrs?|keys?|doors?|seats?|cyl\w*|inch\w*|ft|feet|rpm|am|pm|"
    r"a\.m\.|p\.m\.|th|st|nd|rd)\b",
    re.I,
)
_TIME_OR_DATE_AFTER_RE = re.compile(r"[:/]\d|-\d{1,2}-\d")
_MILEAGE_BEFORE_RE = re.compile(r"(?:mileage|odometer|miles)\s*(?:is|of|at|:)?\s*$", re.I)
_CAR_WORDS = frozenset(
    "model year car truck suv sedan coupe hatchback van wagon vehicle version edition build".split()
)
_YEAR_BEFORE_WORDS = frozenset({"year", "model", "since"})
# A word right before a bare number that makes it a price even when it equals the listing's year:
# "let it go for 2018", "I'd do 2018", "take 2018" (a $2,018 price must not pass as the model year).
_PRICE_BEFORE_WORDS = frozenset(
    "for at do take takes accept accepts offer offering price pay paying sell selling asking only just "
    "por precio ofrezco doy acepto vendo".split()
)
_WORD_RE = re.compile(r"[^\W\d_]+")


def _parse_number(num: str) -> Decimal:
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", num):  # European thousands separators
        return Decimal(num.replace(".", ""))
    return Decimal(num.replace(",", ""))


def _is_year(text: str, start: int, end: int, value: Decimal, listing_year: int | None) -> bool:
    """Whether a bare four-digit number is a model year rather than a price.

    Never right after a price word ("for", "do", "take" …: "let it go for 2018" is $2,018). Otherwise, with
    the listing's year known, only that year is exempt (strict); without it, a number counts as a year when
    a make (capitalised word) or a car word follows, or "year"/"model" precedes it.
    """
    before_words = _WORD_RE.findall(text[max(0, start - 12) : start])
    if before_words and before_words[-1].lower() in _PRICE_BEFORE_WORDS:
        return False  # in a price's place: an amount, whatever the listing's year
    if listing_year is not None:
        return value == listing_year
    after = _WORD_RE.match(text, end + 1) if text[end : end + 1] == " " else None
    if after is not None and (after.group()[0].isupper() or after.group().lower() in _CAR_WORDS):
        return True
    return bool(before_words) and before_words[-1].lower() in _YEAR_BEFORE_WORDS


def _digit_amounts(text: str, listing_year: int | None) -> list[MoneyMention]:
    found: list[MoneyMention] = []
    for m in _AMOUNT_RE.finditer(text):
        pre, num, mult = m.group("pre"), m.group("num"), m.group("mult")
        start, end = m.start("num"), m.end()
        before = text[start - 1] if start > 0 else " "
        # Part of a larger token: "V6", "2.0", "10:30", "5/12", "#3". A currency sign before is fine.
        if pre is None and (before.isalnum() or before in "._:/#"):
            continue
        # "F-150", "CX-5": a model designation. "8,000-9,000" (digit before the dash) stays a range.
        if pre is None and before == "-" and start > 1 and text[start - 2].isalpha():
            continue
        rest = text[end:]
        currency = pre is not None or bool(_CURRENCY_AFTER_RE.match(rest))
        if _PERCENT_RE.match(rest):
            continue
        if not currency:
            if rest[:1].isalpha():  # glued unit such as "2.0L", "4wd", "12km"
                continue
            if _UNIT_RE.match(rest) or _TIME_OR_DATE_AFTER_RE.match(rest):
                continue
            if _MILEAGE_BEFORE_RE.search(text[max(0, start - 20) : start]):
                continue
        try:
            value = _parse_number(num)
        except InvalidOperation:
            continue
        if mult:
            word = mult.strip().lower()
            value *= Decimal(100) if word == "hundred" else Decimal(1000)
        elif not currency:
            if re.fullmatch(r"\d{4}", num) and 1900 <= value <= 2099:
                if _is_year(text, start, m.end("num"), value, listing_year):
                    continue
            if value < 100:  # "2 owners", "3 photos": small bare numbers are not prices
                continue
        found.append(MoneyMention(value=value, start=m.start("pre") if pre else start, end=end))
    return found


_EN_SMALL = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_EN_SMALL.update(
    {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
)
_ES_SMALL: dict[str, int] = {
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "dieciséis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veinte": 20, "veintiuno": 21, "veintidos": 22, "veintidós": 22, "veintitres": 23, "veintitrés": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintiséis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200,
    "trescientos": 300, "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600,
    "setecientos": 700, "ochocientos": 800, "novecientos": 900,
}  # fmt: skip
_SMALL = {**_EN_SMALL, **_ES_SMALL}
_HUNDRED = frozenset({"hundred"})
_THOUSAND = frozenset({"thousand", "grand", "mil", "k"})
_MILLION = frozenset({"million", "millon", "millón", "millones"})
_MULTIPLIERS = _HUNDRED | _THOUSAND | _MILLION
_CONNECTORS = frozenset({"and", "y"})


def _words_value(words: list[str]) -> Decimal:
    # Colloquial "eleven five" = 11,500 (teen + digit), common in car haggling.
    if len(words) == 2 and 10 <= _SMALL.get(words[0], -1) <= 19 and 1 <= _SMALL.get(words[1], -1) <= 9:
        return Decimal(_SMALL[words[0]] * 1000 + _SMALL[words[1]] * 100)
    total, current = 0, 0
    for word in words:
        if word in _SMALL:
            current += _SMALL[word]
        elif word in _HUNDRED:
            current = max(current, 1) * 100
        elif word in _THOUSAND:
            total += max(current, 1) * 1000
            current = 0
        elif word in _MILLION:
            total += max(current, 1) * 1_000_000
            current = 0
    return Decimal(total + current)


def _word_amounts(text: str) -> list[MoneyMention]:
    """Amounts spelled in words: "eleven thousand eight hundred", "twelve grand", "ocho mil"."""
    lowered = text.lower()
    tokens = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(lowered)]
    found: list[MoneyMention] = []
    i = 0
    while i < len(tokens):
        word, start, _ = tokens[i]
        starts_with_a = word == "a" and i + 1 < len(tokens) and tokens[i + 1][0] in _MULTIPLIERS
        if word not in _SMALL and not starts_with_a:
            i += 1
            continue
        words = [] if starts_with_a else [word]
        j = i + 1
        while j < len(tokens):
            gap = lowered[tokens[j - 1][2] : tokens[j][1]]
            if not re.fullmatch(r"[\s-]*", gap):
                break
            nxt = tokens[j][0]
            if nxt in _SMALL or nxt in _MULTIPLIERS:
                words.append(nxt)
            elif nxt in _CONNECTORS and j + 1 < len(tokens) and tokens[j + 1][0] in _SMALL:
                pass
            else:
                break
            j += 1
        end = tokens[j - 1][2]
        i = j
        if not words:
            continue
        value = _words_value(words)
        rest = lowered[end:]
        if _PERCENT_RE.match(rest) or (_UNIT_RE.match(rest) and not _CURRENCY_AFTER_RE.match(rest)):
            continue
        if value >= 100 or _CURRENCY_AFTER_RE.match(rest) or any(w in _THOUSAND for w in words):
            found.append(MoneyMention(value=value, start=start, end=end))
    return found


def _mask_names(text: str, names: Collection[str]) -> str:
    """Hide digits inside the car's own name ("Silverado 1500", "F-150") so they do not read as prices.

    Only exact occurrences of the listing's make/model/trim are masked, so a bare "1500" elsewhere in
    the text is still an amount. Lengths are preserved, so positions stay valid.
    """
    for name in sorted((n for n in names if n and any(c.isdigit() for c in n)), key=len, reverse=True):
        pattern = re.compile(re.escape(normalize_text(name)), re.IGNORECASE)
        text = pattern.sub(lambda m: re.sub(r"\d", "x", m.group()), text)
    return text


def _listing_names(listing: ListingFacts | None) -> tuple[str, ...]:
    if listing is None:
        return ()
    model_trim = f"{listing.model} {listing.trim}" if listing.trim else listing.model
    return (f"{listing.make} {model_trim}", model_trim, listing.model, listing.trim or "")


def find_amounts(
    text: str, *, listing_year: int | None = None, names: Collection[str] = ()
) -> tuple[MoneyMention, ...]:
    """Every money amount in ``text`` (normalised first), in digits or words, generously.

    Quantities with units (miles, %, pm), small bare numbers and model years are not amounts, nor are
    digits inside the car ``names`` given (the listing's model and trim). Positions refer to
    ``normalize_text(text)``.
    """
    norm = _mask_names(normalize_text(text), names)
    mentions = _digit_amounts(norm, listing_year) + _word_amounts(norm)
    return tuple(sorted(mentions, key=lambda m: m.start))


def redact_amounts(text: str, keep: Collection[Decimal], placeholder: str = "[amount]") -> str:
    """Replace every amount not in ``keep`` by ``placeholder`` (used before text reaches an LLM)."""
    norm = normalize_text(text)
    out: list[str] = []
    pos = 0
    for m in find_amounts(norm):
        if m.value in keep or m.start < pos:
            continue
        out.append(norm[pos : m.start])
        out.append(placeholder)
        pos = m.end
    out.append(norm[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------------
# Language rules
# ---------------------------------------------------------------------------------------------------

_AMOUNT_ISH = r"(?:\$\s?\d|\d[\d,.]*\s?(?:k\b|grand\b|thousand\b|dollars?\b|bucks\b)|\d{3,})"
_ACCEPTANCE_RE = re.compile(
    r"\bdeal\b|\bsounds good\b|\baccept(?:ed|ing|s)?\b|\bworks for me\b|\bthat works\b|\bagreed\b"
    r"|\bit'?s yours\b|\byou(?:'ve)? got (?:it|a deal)\b|\bi'?ll take it\b|\bsold\b|\blet'?s do it\b"
    rf"|\b(?:sure|ok|okay|fine|yes|yeah|yep)\b[\s,!.:-]*{_AMOUNT_ISH}"
    rf"|{_AMOUNT_ISH}(?:[\w,]|\.\d)*\s+it is\b|\btrato hecho\b|\bde acuerdo\b|\bacepto\b|\bvendido\b"
    r"|\bmarch[eé] conclu\b|\bd'accord\b|\bj'accepte\b|\bvendue?\b",
    re.I,
)
_REJECTION_RE = re.compile(
    r"\bcan'?t\b|\bcannot\b|\bcan not\b|\bunfortunately\b|\btoo low\b|\bnot able\b|\bunable\b"
    r"|\bdeclin\w*|\bno deal\b|\bwon'?t\b|\bnot possible\b|\bnot going to\b|\bno puedo\b",
    re.I,
)
# Always forbidden: they name the secret.
_FLOOR_HARD_RE = re.compile(
    r"\bfloor\b|\bmin(?:imum|\.)? (?:price|amount|offer)\b|\breserve price\b|\bprecio m[ií]nimo\b"
    r"|\bprix (?:minimum|plancher)\b",
    re.I,
)
# Allowed only next to an allowed amount (the strategy reached the floor and chose to say so).
_FLOOR_SOFT_RE = re.compile(
    r"\brock[- ]bottom\b|\blowest (?:i|we|he|she|they|the seller) (?:can|could|will|would)\b"
    r"|\bbottom (?:line|dollar)\b|\bminimum\b|\blowest price\b|\bm[ií]nimo\b",
    re.I,
)
# Promise kind -> (pattern, listing keywords that make the promise a stated fact).
_PROMISES: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    "warranty": (re.compile(r"\bwarrant(?:y|ies|ied)\b|\bguarantee[ds]?\b|\bgarant[ií]a\b", re.I),
                 ("warrant", "guarantee")),
    "delivery": (re.compile(r"\bdeliver(?:y|ed|ing|s)?\b|\b(?:drop|bring) (?:it|the car) (?:off|to you)\b",
                            re.I), ("deliver",)),
    "financing": (re.compile(r"\bfinanc(?:e|ing|ed)\b|\bpayment plans?\b|\bmonthly payments?\b|\bloans?\b",
                             re.I), ("financ", "payment plan", "loan")),
    "hold": (re.compile(r"\b(?:hold|reserve|keep|save) (?:it|the car|the vehicle|this one|the \w+)"
                        r"(?: for you)\b|\bhold (?:it|the car|the vehicle)\b", re.I), ("hold", "reserve")),
    "shipping": (re.compile(r"\bship(?:ping|ped|s)?\b|\btransport(?:ation)?\b", re.I), ("ship", "transport")),
}  # fmt: skip
_DEFERRED_TOPIC_RE = re.compile(
    r"\b((?:check with|ask) the seller (?:about|on|regarding) (?:the |a |any )?"
    r"|preguntar al vendedor sobre (?:la |el )?)"
    r"(?:warranty|delivery|financing|shipping|garant[ií]a|entrega|financiamiento|env[ií]o)\b",
    re.I,
)
_URL_RE = re.compile(
    r"\bhttps?://\S+|\bwww\.\S+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|me|ly|app|info|biz|xyz|us|link|site|online"
    r"|shop|gl|to|ru|cn|tk)\b(?:/\S*)?",
    re.I,
)
_PHONE_RE = re.compile(
    r"(?<![\d$])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"
    r"|(?<![\d$,.])\d{3}[\s.-]\d{4}(?![\d,])|\+\d[\d\s.-]{7,}\d",
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|\b\w+\s*(?:\(at\)|\[at\]| at )\s*\w+\s*(?:dot|\.)\s*com\b",
                       re.I)  # fmt: skip
_CODE_RE = re.compile(r"\b(?:code|c[oó]digo|pin)\b[^.\n]{0,20}?\d{4,}", re.I)


def _listing_blob(listing: ListingFacts | None) -> str:
    if listing is None:
        return ""
    parts = [listing.description or "", *listing.features, *listing.details.keys(), *listing.details.values()]
    return " ".join(parts).lower()


def _fee_values(decision: Decision) -> frozenset[Decimal]:
    fee = decision_fee(decision)
    if fee is None:
        return frozenset()
    # The fee may be written to the cent ($106.20) or rounded to the dollar ($106).
    return frozenset({fee, fee.quantize(Decimal(1), rounding=ROUND_HALF_UP)})


def _content_reasons(norm: str, listing: ListingFacts | None, allowed_urls: Collection[str]) -> list[str]:
    """Rules that do not depend on the decision: promises, links, contact data, codes."""
    reasons: list[str] = []
    blob = _listing_blob(listing)
    # "I'll check with the seller about the warranty" asks, it does not promise.
    norm = _DEFERRED_TOPIC_RE.sub(r"\1topic", norm)
    for pattern, keywords in _PROMISES.values():
        if pattern.search(norm) and not any(k in blob for k in keywords):
            reasons.append("unmade_promise")
    urls_ok = set(allowed_urls) | (set(listing.photos) if listing is not None else set())
    if any(m.group().rstrip(".,!?)") not in urls_ok for m in _URL_RE.finditer(norm)):
        reasons.append("url")
    if _EMAIL_RE.search(norm):
        reasons.append("email")
    if _PHONE_RE.search(norm):
        reasons.append("phone")
    if _CODE_RE.search(norm):
        reasons.append("code")
    return reasons


def unsafe_content(text: str, *, listing: ListingFacts | None = None) -> tuple[str, ...]:
    """Why ``text`` could not be quoted in *any* reply (empty when safe).

    Used to vet seller-entered facts before a template repeats them: such a fact must contain no amount
    at all and none of the words the guard reacts to (acceptance, rejection, floor, promises, contacts).
    """
    # Digits in the car's own name ("F-150 2500 HD") are neither prices nor phone numbers.
    norm = _mask_names(normalize_text(text), _listing_names(listing))
    reasons: list[str] = []
    if find_amounts(norm, listing_year=listing.year if listing is not None else None):
        reasons.append("amount_not_allowed")
    if _ACCEPTANCE_RE.search(norm):
        reasons.append("acceptance_language")
    if _REJECTION_RE.search(norm):
        reasons.append("accept_with_rejection")
    if _FLOOR_HARD_RE.search(norm) or _FLOOR_SOFT_RE.search(norm):
        reasons.append("floor_disclosure")
    reasons.extend(_content_reasons(norm, listing, ()))
    return tuple(dict.fromkeys(reasons))


def check_reply(
    text: str,
    decision: Decision,
    rules: SellerRules,
    *,
    listing: ListingFacts | None = None,
    allowed_urls: Collection[str] = (),
) -> GuardVerdict:
    """Check an outbound ``text`` against ``decision`` and ``rules``; pure.

    ``listing`` (optional) makes the check more precise: only its year is exempt as a model year, and
    promises (warranty, delivery, …) are allowed when the listing itself states them. Without it such
    promises are always rejected. ``allowed_urls`` (plus the listing's photo URLs) may appear verbatim.
    """
    reasons: list[str] = []
    norm = _mask_names(normalize_text(text), _listing_names(listing))
    if not norm.strip():
        return GuardVerdict(ok=False, reasons=("empty",))
    if len(text) > MAX_REPLY_CHARS:
        reasons.append("too_long")

    amounts = find_amounts(norm, listing_year=listing.year if listing is not None else None)
    fees = _fee_values(decision)
    for mention in amounts:
        if mention.value in fees:
            continue
        if mention.value not in decision.allowed_amounts:
            reasons.append("amount_not_allowed")
        # Defence in depth: even an "allowed" amount must never be below the seller's floor.
        if mention.value < rules.price_floor:
            reasons.append("below_floor")

    if decision.action is ActionKind.ACCEPT:
        if decision.amount is not None and all(m.value != decision.amount for m in amounts):
            reasons.append("accept_missing_amount")
        if _REJECTION_RE.search(norm):
            reasons.append("accept_with_rejection")
    elif _ACCEPTANCE_RE.search(norm):
        reasons.append("acceptance_language")

    if _FLOOR_HARD_RE.search(norm):
        reasons.append("floor_disclosure")
    elif _FLOOR_SOFT_RE.search(norm) and not any(m.value in decision.allowed_amounts for m in amounts):
        reasons.append("floor_disclosure")

    reasons.extend(_content_reasons(norm, listing, allowed_urls))
    unique = tuple(dict.fromkeys(reasons))
    return GuardVerdict(ok=not unique, reasons=unique)


def _seller_amounts(
    text: str, listing: ListingFacts | None, exempt: Collection[Decimal]
) -> tuple[str, list[MoneyMention]]:
    # A seller may give their phone number; its digit groups are not prices.
    norm = _PHONE_RE.sub(" ", _mask_names(normalize_text(text), _listing_names(listing)))
    year = listing.year if listing is not None else None
    return norm, [m for m in find_amounts(norm, listing_year=year) if m.value not in exempt]


def seller_prices(
    text: str, *, listing: ListingFacts | None = None, exempt: Collection[Decimal] = ()
) -> tuple[Decimal, ...]:
    """The distinct prices a seller's words name, in order (as :func:`check_seller_reply` reads them)."""
    return tuple(dict.fromkeys(m.value for m in _seller_amounts(text, listing, exempt)[1]))


def check_seller_reply(
    text: str,
    rules: SellerRules,
    *,
    listing: ListingFacts | None = None,
    buyer_offer: Decimal | None = None,
    exempt: Collection[Decimal] = (),
) -> tuple[str, ...]:
    """The price rules of :func:`check_reply` for words a seller wrote or edited (a co-pilot draft); pure.

    A seller may say other amounts than the bot decided, so only the floor is checked: no amount below it
    (stated, offered or accepted), no acceptance of a buyer's offer below it without naming a price, and
    the floor never revealed (named as such, or the floor amount as "my lowest"). Contact details and
    promises are the seller's own business. ``exempt`` are amounts that are not prices (the escrow fee).
    Returns the reasons (empty when the text keeps the floor); the seller may still confirm them.
    """
    norm, amounts = _seller_amounts(text, listing, exempt)
    reasons: list[str] = []
    if any(m.value < rules.price_floor for m in amounts):
        reasons.append("below_floor")
    if not amounts and buyer_offer is not None and buyer_offer < rules.price_floor:
        if _ACCEPTANCE_RE.search(norm):
            reasons.append("accepts_below_floor")
    if _FLOOR_HARD_RE.search(norm):
        reasons.append("floor_disclosure")
    elif _FLOOR_SOFT_RE.search(norm) and any(m.value == rules.price_floor for m in amounts):
        reasons.append("floor_disclosure")
    return tuple(dict.fromkeys(reasons))
