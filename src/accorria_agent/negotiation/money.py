"""Find the price a buyer offers in a (normalised) message.

The parser is deliberately conservative: inventing an offer is worse than missing one, because the strategy
would answer a price the buyer never named. A number becomes an offer only when

* it is not something else: a model year, mileage, a time, a count ("2 kids", "4 tires"), a ZIP code, a
  phone number (masked before parsing), a deposit or a monthly payment;
* it is not quoted from elsewhere ("the dealer has one for 9k", "KBB says 8,500"), nor the asking price
  repeated back ("is it still 8500?");
* and it carries a money cue (``$``, ``k``/``grand``/``mil``, ``1,000`` separators, ``obo``/``cash``/
  ``firm``) or stands in an offer frame ("would you take", "I can do", "te doy", "my budget is") or is the
  whole message.

Bare small numbers are scaled by the asking price when that is the obvious reading (asking 8,500: "7.9" ->
7,900, "8" -> 8,000). Relative offers ("500 off", "1k less than asking") and ranges ("7,000-7,500", low end)
are resolved here too. Input must already be ``lexicon.normalize``-d; the module does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from accorria_agent.negotiation.lexicon import words_to_digits

_PHONE_RE: Final = re.compile(r"(?<![\d,.$])(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?![\d,])")
_URL_RE: Final = re.compile(
    r"(?:https?://|www\.)\S{1,300}|\b[a-z0-9-]{1,63}\.(?:com|net|org|io|co|ly|me|info|xyz|site|online"
    r"|us)\b\S{0,300}"
)
_EMAIL_RE: Final = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,100}\.[a-z]{2,10}")

_AMOUNT_RE: Final = re.compile(
    r"(?<![\w.$,:])(?P<dollar>\$ ?)?(?P<num>\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.(?P<frac>\d{1,3}))?(?!\d)"
    r"(?P<mult> ?(?:k|grand|thousand|mil|racks|bands|stacks|g|hundred)\b)?(?P<dollar2> ?\$)?"
)
_CLAUSE_BOUNDARY_RE: Final = re.compile(
    r"[.!?;,\n]|\b(?:but|so|and|though|however|pero|also|plus|then|because|cuz|since)\b"
)
_SUFFIX_BOUNDARY_RE: Final = re.compile(r"[.!?;,\n]")

_MONEY_SUFFIX_RE: Final = re.compile(
    r"^ ?(?:\$|dollars?\b|dolares\b|bucks\b|usd\b|cash\b|obo\b|or best|or (?:best )?offer|o\.b\.o|firm\b"
    r"|otd\b"
    r"|out the door|en efectivo|efectivo|cash in hand)"
)
_POST_FRAME_RE: Final = re.compile(
    r"^ ?(?:for (?:it|the|your|this|that|her|him|them|both)\b|and (?:it'?s|its) (?:yours|mine|a deal)"
    r"|and (?:i'?ll|i will|we (?:have|got) a deal)|(?:is )?(?:my )?(?:final|tops|max|limit|budget|offer)\b"
    r"|is (?:all|what) i|ok\b|okay\b|(?:would|will|could|does|do) (?:that |this |you )?(?:work|do)\b|works?\b"
    r"|good\b|cool\b|fair\b|sound|today|tonight|right now|deal\b|y (?:es|te|lo)\b|por (?:el|la|tu|su)\b"
    r"|(?:is |be )?(?:doable|do-able|possible|reasonable|acceptable|an option)\b|it is\b|is (?:the most"
    r"|the best|the highest|all|my)\b|and you(?:'ve)? (?:have|got) (?:a |yourself a )?deal"
    r"|is a (?:pretty |really |very )?(?:good|fair|great) (?:deal|price|offer)"
    r"|esta bien|hoy mismo|y (?:me|te) lo llevo)"
)
_RELATIVE_SUFFIX_RE: Final = re.compile(
    r"^ ?(?:(?:dollars?|bucks) )?(?:off\b|less\b|under\b|below\b|lower\b|cheaper\b|discount\b"
    r"|de descuento|menos\b)"
)
_RELATIVE_UP_SUFFIX_RE: Final = re.compile(
    r"^ ?(?:over|above|more than) (?:asking|the asking|your asking|list)"
)
_RELATIVE_PREFIX_RE: Final = re.compile(
    r"\b(?:knock(?:ed)?(?: it)? off|take off|shave off|knock|shave|discount of|descuento de|rebaja(?:s"
    r"|r)?(?: de)?"
    r"|menos)(?: like| maybe| about)? ?\$? ?$"
)
_UNIT_SUFFIX_RE: Final = re.compile(
    r"^ ?(?:k ?)?(?:miles?\b|mi\b|mls?\b|kms?\b|kilomet|millas|klicks|on (?:it|the|her|him|this|that|odo"
    r"|clock)\b"
    r"|odo\b|mileage)"
)
_TIME_SUFFIX_RE: Final = re.compile(
    r"^ ?(?::\d\d|[ap]\.?m\b|[ap]\.m\.|o'?clock|ish\b|h\b|hrs?\b|hours?\b|mins?\b|minutes?\b|de la (?:tarde"
    r"|manana|noche)"
    r"|in the (?:morning|afternoon|evening)|tonight\b|this (?:morning|afternoon|evening)|sharp\b)"
)
_COUNT_SUFFIX_RE: Final = re.compile(
    r"^ ?(?:kids?|children|tires?|tyres?|rims?|wheels?|doors?|owners?|years?|yrs?|yr\b|months?|mos?\b"
    r"|weeks?|wks?"
    r"|days?|people|persons?|guys|friends|cars?|trucks?|vehicles?|seats?|keys?|cyl|cylinders?|speeds?|inch"
    r"|inches"
    r"|\"|'|%|percent|x\b|times|cents?|more\b|pictures?|photos?|videos?|of (?:them|those|these|you|us)\b"
    r"|wd\b|st\b|nd\b|rd\b|th\b|hp\b|mpg\b|liters?|litres?|l\b|a month|a mo\b|per\b|/ ?mo|/ ?month|monthly"
    r"|down\b"
    r"|deposit|duenos|llantas|anos|puertas|meses|dias|semanas|hijos|ninos|personas|gallons?|quarts?|oz\b"
    r"|lbs?\b"
    r"|pounds|feet|ft\b|seconds?|decades?|gen\b|series\b|ton\b|passengers?|rows?|questions?|things|worth"
    r"|in (?:repairs|parts|work)|of (?:repairs|work|parts)|repairs|parts|tax|fees?|taxes|insurance|loan"
    r"|credit"
    r"|payments?|installments?|mensual|al mes|de enganche|enganche|pesos|minutos|horas|miles de"
    r"|plus (?:my|a|the|your|his|her)\b|\+ ?my\b|and my (?:car|truck|van|suv|bike))"
)
_TIME_PREFIX_RE: Final = re.compile(
    r"\b(?:at|@|around|by|after|before|until|till|til|from|between|a las|las|la|tipo|como a las|come"
    r"|be there)"
    r" ?$"
)
_MONEY_AT_RE: Final = re.compile(
    r"\b(?:take|took|sell|sold|let (?:it|her|him) go|do it|settle|priced|price|lower|drop)(?: it)? (?:at"
    r"|@) ?$"
)
_ZIP_PREFIX_RE: Final = re.compile(
    r"\b(?:zip(?: ?code)?|zipcode|codigo postal|cp|near|area|in|from|mi|oh|in)"
    r"(?: is)? ?$"
)
_MILEAGE_PREFIX_RE: Final = re.compile(r"\b(?:with|has|only has|it's got|its got|got like|tiene|con) ?$")
_DEPOSIT_PREFIX_RE: Final = re.compile(
    r"\b(?:deposit|down payment|put down|downpayment|holding fee|fee|fees|overpay(?: you)? by|extra"
    r"|the difference of|insurance"
    r"|shipping|deposito|enganche"
    r"|apartar(?:lo)? con)"
    r"(?: of)? ?\$? ?$"
)
_STRONG_FRAME_RE: Final = re.compile(
    r"\b(?:take|accept|do|give(?: you)?|pay|offer(?:ing)?|afford|spend|budget(?: is)?|have|got"
    r"|max(?:imum)?(?: is)?"
    r"|limit(?: is)?|go(?: down)?(?: to)?|come down(?: to)?|drop(?: it)?(?: to)?|lower(?: it)?(?: to)?"
    r"|bring it down(?: to)?|settle(?: for| on| at)?|meet (?:you |me )?(?:at|on)"
    r"|sell(?: it)?(?: to me)?(?: for| at)"
    r"|let (?:it|her|him) go(?: for| at)|how about|what about|hbu|ok|okay|yes|yeah|sure|deal at|doy|ofrezco"
    r"|ofrecer(?:te|le)?|daria|dar(?:te|le)?|pago|pagar|pagaria|acepta(?:s|rias?|ria)?|tomas|tomarias|toma"
    r"|tengo"
    r"|presupuesto(?: es)?|dejas(?: en)?|deja(?: en)?|dejarias(?: en)?|vendes(?: en| por)?|vende(?: en| por)?"
    r"|mi oferta es|my offer is|compro(?: en| por)?|te lo compro(?: en| por)?|could you|would you|can you"
    r"|will you|counter(?: at| with)?|i'm at|im at"
    r"|cash|only|thinking|think|thought|figured|figure|maybe|at|agree(?: to)?)"
    r"(?: (?:you|it|her|him|me|like|maybe|about|around|just|only|say|for|at|to|of|a|an|the|lo|la|el|te|le|en"
    r"|por|como|unos|unas|solo|nomas|right|flat|even|with|cash|usd|is|it's|its|up to|tops|a max of|do|take"
    r"|give"
    r"|pay|hard|full|this|that|car|truck|van|suv|one|ride|probably|little|bit|least))* ?\$? ?$"
)
_WEAK_FRAME_RE: Final = re.compile(
    r"\b(?:for|at|around|about|en|por|hasta|up to|like|maybe)(?: like| maybe)? ?\$? ?$"
)
_QUOTE_RE: Final = re.compile(
    r"\b(?:dealers?|dealership|kbb|kelley|blue ?book|edmunds|nada|carfax|carvana|carmax|autotrader|cargurus"
    r"|truecar"
    r"|vroom|craigslist|listed|listing|ad says|saw (?:one|another|a|an|the|some)|seen (?:one|some|them"
    r"|others)"
    r"|has (?:one|another|it)|had (?:one|it)|other (?:one|ones|guy|seller|car)|others|going for|they go for"
    r"|selling for"
    r"|sells for|sold for|sold (?:mine|it)|paid|worth|valued?|appraised?|quoted|estimated?|trade[- ]?in value"
    r"|they (?:offered|want|wanted|ask|asked|are asking|said)|offered me|(?:someone|somebody"
    r"|another (?:buyer|guy|person))"
    r"(?: else)? (?:offered|offering|said)|you said|you listed|your ad|you're asking|you are asking"
    r"|asking(?: price)?"
    r"|listed at|priced at|price (?:is|was)|retail|msrp|market|value|same car|similar|comparable|comps?"
    r"|down the street|online|marketplace|elsewhere|across town|vendido|vendiendo|el dealer|lo venden"
    r"|otro lado"
    r"|says|said|shows|cost me|costs|was|you want|you wanted|you(?:'re| are) offering"
    r"|books?(?: out)?(?: at)?|book value|bought|got (?:mine|it|his|hers)|same model|same one)\b"
)
_SOLE_FILLER: Final = frozenset(
    "hi hey hello ok okay so well hmm hmmm um umm maybe how about what would you bro sir man please and then "
    "mister yo buddy boss hola oye bueno pues y entonces obo cash firm k deal today tonight right now for it "
    "o or best offer dollars usd bucks en efectivo".split()
)
_BARE_NEXT_OK_RE: Final = re.compile(
    r"^ ?(?:$|[?!.,;:)\-]|(?:if|and|but|or|cuz|because|since|with|then|please|bro|man|dude|sir|boss|my|i"
    r"|i'm|we"
    r"|you|y|si|pero|que|no|right|flat|even|tops|max|final|bucks|cash|for|ok|okay|works?|good|cool|fair"
    r"|deal|today"
    r"|tonight|now|can|could|would|will|let|is|as|hard|total|all|amigo|hermano|senor|por|pesos|thanks|thank"
    r"|lol"
    r"|haha|at|on|when|tomorrow|obo|firm|dollars?|deal|sound|sounds|via|through|by|in|hoy|manana"
    r"|esta|it)\b)"
)


_MAX_MENTIONS: Final = 40
_SOLE_MAX_CHARS: Final = 120


@dataclass(frozen=True)
class OfferParse:
    """Result of reading amounts: the offer, and whether a relative cut was named without an asking price."""

    offer: Decimal | None
    relative_unresolved: bool = False
    mentions_asking: bool = False


@dataclass
class _Mention:
    start: int
    end: int
    raw: Decimal
    dollar: bool
    mult: bool
    comma: bool
    range_high: _Mention | None = None


def prepare(norm: str) -> str:
    """Mask phone numbers, links and e-mail addresses and spell numbers as digits, for amount parsing."""
    text = _EMAIL_RE.sub(" <email> ", norm)
    text = _URL_RE.sub(" <url> ", text)
    text = _PHONE_RE.sub(" <phone> ", text)
    return words_to_digits(text)


def _to_decimal(num: str, frac: str | None) -> Decimal | None:
    try:
        if frac is None:
            return Decimal(num.replace(",", ""))
        return Decimal(f"{num.replace(',', '')}.{frac}")
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return None


def _mentions(text: str) -> list[_Mention]:
    found: list[_Mention] = []
    for m in _AMOUNT_RE.finditer(text):
        if len(found) >= _MAX_MENTIONS:
            break  # a real message names a handful of numbers; junk must not cost more
        num, frac, mult = m.group("num"), m.group("frac"), m.group("mult")
        if frac is not None and len(frac) == 3 and not mult and "," not in num:
            # "7.500" is a Spanish thousands separator, not seven and a half.
            value = _to_decimal(num + frac, None)
        else:
            value = _to_decimal(num, frac)
        if value is None:
            continue
        if mult:
            value *= 100 if mult.strip() == "hundred" else 1000
        found.append(
            _Mention(
                start=m.start(),
                end=m.end(),
                raw=value,
                dollar=bool(m.group("dollar") or m.group("dollar2")),
                mult=bool(mult),
                comma="," in num,
            )
        )
    return _merge_ranges(text, found)


# "a 1999", "my 2012", "it's a 2015": an article or possessive before a year makes it the model year.
_YEAR_PREFIX_RE: Final = re.compile(r"\b(?:a|an|the|my|your|his|her|its|it's|this|that|old|newer|older) ?$")
_LEADING_END_RE: Final = re.compile(r"^ ?[,.!?]")
_RANGE_JOIN_RE: Final = re.compile(r"^ ?(?:-|to|or|a|and|~|/) ?\$? ?$")


def _merge_ranges(text: str, mentions: list[_Mention]) -> list[_Mention]:
    """Fold "7,000-7,500" / "7-7.5k" / "between 7 and 8k" into one mention read at its low end."""
    merged: list[_Mention] = []
    i = 0
    while i < len(mentions):
        low = mentions[i]
        if i + 1 < len(mentions):
            high = mentions[i + 1]
            gap = text[low.end : high.start]
            if len(gap) <= 6 and _RANGE_JOIN_RE.match(gap) and not text[low.start : low.end].endswith(" "):
                if high.mult and not low.mult and low.raw * 1000 <= high.raw:
                    low.raw *= 1000
                    low.mult = True
                low.dollar = low.dollar or high.dollar
                if high.raw >= low.raw:
                    low.range_high = high
                    merged.append(low)
                    i += 2
                    continue
        merged.append(low)
        i += 1
    return merged


def _clause_prefix(text: str, start: int) -> str:
    prefix = text[max(0, start - 70) : start]
    cut = 0
    for boundary in _CLAUSE_BOUNDARY_RE.finditer(prefix):
        cut = boundary.end()
    return prefix[cut:]


def _suffix(text: str, end: int) -> str:
    return text[end : end + 40]


def _clause_suffix(suffix: str) -> str:
    m = _SUFFIX_BOUNDARY_RE.search(suffix)
    return suffix[: m.start()] if m else suffix


def _whole_dollars(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _is_sole_number(text: str, mention: _Mention) -> bool:
    if len(text) > _SOLE_MAX_CHARS:
        return False  # a message that is "just a number" is short; also keeps this check O(1) per mention
    end = mention.range_high.end if mention.range_high else mention.end
    rest = text[: mention.start] + " " + text[end:]
    words = re.findall(r"[a-z']+|\d", rest)
    return all(w in _SOLE_FILLER for w in words)


def _scale(raw: Decimal, asking: Decimal | None, mult: bool, comma: bool) -> Decimal | None:
    """Read a bare small number on the asking price's scale ("7.9" of 8,500 -> 7,900)."""
    if asking is None or mult or comma:
        return raw
    low, high = asking * Decimal("0.3"), asking * Decimal("1.6")
    if low <= raw <= high:
        return raw
    if raw < 1000 and low <= raw * 1000 <= high:
        return raw * 1000
    if 10 <= raw < 100 and asking < 10000 and low <= raw * 100 <= high:
        return raw * 100  # "22" on a 2,500 car means twenty-two hundred
    return None


def _plausible(value: Decimal, asking: Decimal | None, cued: bool) -> bool:
    if value <= 0:
        return False
    if asking is not None:
        return asking * Decimal("0.1") <= value <= asking * 2
    return value >= 500 or (cued and value >= 100)


def _is_year(m: _Mention) -> bool:
    return not (m.dollar or m.mult or m.comma) and m.raw == int(m.raw) and 1950 <= m.raw <= 2035


def _excluded(text: str, m: _Mention, prefix: str, suffix: str, money_cue: bool) -> bool:
    """True when the number is something other than money: unit, time, count, ZIP, deposit."""
    if _UNIT_SUFFIX_RE.match(suffix) or _COUNT_SUFFIX_RE.match(suffix):
        return True
    if _DEPOSIT_PREFIX_RE.search(prefix):
        return True
    if m.mult and not m.dollar and _MILEAGE_PREFIX_RE.search(prefix):
        return True  # "2015 civic with 90k", "it has 120k"
    glued = text[m.end : m.end + 1]
    if glued.isalpha() and not m.mult and not _MONEY_SUFFIX_RE.match(suffix):
        return True  # 5pm, 2nd, 4x4, 2wd
    small = m.raw <= 24 and not (m.dollar or m.mult or m.comma)
    if small and _TIME_SUFFIX_RE.match(suffix):
        return True
    if small and _TIME_PREFIX_RE.search(prefix) and not _MONEY_AT_RE.search(prefix):
        return True
    digits = len(str(int(m.raw)))
    return not money_cue and digits == 5 and bool(_ZIP_PREFIX_RE.search(prefix))


def _relative(text: str, m: _Mention, prefix: str, suffix: str) -> int:
    """+1 / -1 when the amount is a cut from (or addition to) the asking price, else 0."""
    if _RELATIVE_UP_SUFFIX_RE.match(suffix):
        return 1
    if _RELATIVE_SUFFIX_RE.match(suffix):
        return -1
    if _RELATIVE_PREFIX_RE.search(prefix):
        return -1
    return 0


# Before a number: the buyer says they cannot pay it ("I can't afford $5900", "I don't have 6200").
_NEGATED_FRAME_RE: Final = re.compile(
    r"\b(?:can'?t|cannot|can not|don'?t|do not|dont|won'?t|not) (?:\w+ )?(?:afford|have|pay|do"
    r"|go)(?: \w+)? ?\$? ?$"
)
# Between a first and a later amount: the buyer moves on to their real number ("8k but I can go 9.5k",
# "you want 3500, I want 2800, let's settle for 3150", "I have 5500 … for a final price of 5580").
_RAISE_CUE_RE: Final = re.compile(
    r"\b(?:but|however|though|at least|go up|come up|better than|pull all my pennies)\b"
)
_SETTLE_CUE_RE: Final = re.compile(r"\b(?:final price|settle|in the middle|meet halfway)\b")


def find_offer(prepared: str, asking_price: Decimal | None) -> OfferParse:
    """The buyer's offer in ``prepared`` (output of :func:`prepare`), or ``None``.

    When several amounts qualify the first one wins (later ones are usually conditions: "7000, maybe 7500
    if you include the mats"), unless the buyer visibly moves on to a later one: a higher amount after
    "but / at least / go up …", or any amount after "final price / settle / in the middle".
    """
    first = _find_offer_from(prepared, asking_price, 0)
    if first.offer is None or first.end is None:
        return first.parse
    later = _find_offer_from(prepared, asking_price, first.end)
    if later.offer is not None and later.start is not None:
        between = prepared[first.end : later.start]
        if _SETTLE_CUE_RE.search(between) or (_RAISE_CUE_RE.search(between) and later.offer > first.offer):
            return later.parse
    return first.parse


@dataclass(frozen=True)
class _Found:
    parse: OfferParse
    start: int | None = None
    end: int | None = None

    @property
    def offer(self) -> Decimal | None:
        return self.parse.offer


def _find_offer_from(prepared: str, asking_price: Decimal | None, begin: int) -> _Found:
    relative_unresolved = False
    mentions_asking = False
    for m in _mentions(prepared):
        if m.start < begin:
            continue
        prefix = _clause_prefix(prepared, m.start)
        tail_end = m.range_high.end if m.range_high else m.end
        suffix = _suffix(prepared, tail_end)
        money_cue = m.dollar or m.mult or m.comma or bool(_MONEY_SUFFIX_RE.match(suffix))
        if _excluded(prepared, m, prefix, suffix, money_cue):
            continue
        direction = _relative(prepared, m, prefix, suffix)
        if direction:
            if m.raw < 50:
                continue
            if asking_price is None:
                relative_unresolved = True
                continue
            if m.raw >= asking_price:
                continue
            found = OfferParse(_whole_dollars(asking_price + direction * m.raw), False, mentions_asking)
            return _Found(found, m.start, tail_end)
        strong = _STRONG_FRAME_RE.search(prefix)
        post = _POST_FRAME_RE.match(suffix)
        quote_end = -1
        for q in _QUOTE_RE.finditer(prefix):
            quote_end = q.end()
        if quote_end >= 0 and (strong is None or strong.start() < quote_end):
            continue  # a price quoted from elsewhere, not the buyer's own
        if _NEGATED_FRAME_RE.search(prefix):
            continue  # "I can't afford $5900": the number the buyer refuses, not their offer
        framed = strong is not None or post is not None
        weak = _WEAK_FRAME_RE.search(prefix) is not None
        sole = _is_sole_number(prepared, m) or (
            m.start == 0 and m.raw >= 100 and _LEADING_END_RE.match(suffix) is not None
        )
        year_article = _YEAR_PREFIX_RE.search(prefix) is not None
        offer_sized = (
            asking_price is not None
            and strong is not None
            and asking_price * Decimal("0.5") <= m.raw <= asking_price * Decimal("1.5")
        )
        if _is_year(m) and (year_article or not (money_cue or offer_sized)):
            # A model year, unless clearly money ("2000 cash", "would you take 2000" on a 2,500 car).
            continue
        if asking_price is not None and m.raw == asking_price and strong is None:
            mentions_asking = True  # "is it still 8500?" repeats the price back; not an offer
            continue
        if not money_cue:
            # A bare number needs an offer frame (or to be the whole message) and a harmless next word.
            if not (framed or sole or (weak and asking_price is not None)):
                continue
            if not (post or _BARE_NEXT_OK_RE.match(_clause_suffix(suffix)) or _MONEY_SUFFIX_RE.match(suffix)):
                continue
        value = _scale(m.raw, asking_price, m.mult or m.dollar, m.comma)
        if value is None:
            continue
        if asking_price is not None and value == asking_price and (strong is None or quote_end >= 0):
            mentions_asking = True  # "is it still 8500?" / "the listing is at 8400" repeat the price back
            continue
        if not _plausible(value, asking_price, money_cue or framed):
            continue
        return _Found(OfferParse(_whole_dollars(value), False, mentions_asking), m.start, tail_end)
    return _Found(OfferParse(None, relative_unresolved, mentions_asking))
