"""Understand one buyer message: intents, offered price, scam signals, proposed time, vehicle topics.

``understand`` is pure and deterministic (no I/O, no clock: times are relative to the ``sent_at`` passed in)
and safe on hostile input: it reads at most ``lexicon.MAX_CHARS`` characters and uses only regular
expressions without nested unbounded repetition, so any text returns in well under a millisecond or two.

Intent boundaries (see docs/negotiation.md, "Understanding buyer messages"):

* ``offer``: the buyer names a price (question, budget, relative cut, range low end). ``haggle`` is dropped
  when an offer is present: it means pressure on price *without* a number.
* ``accept``: explicit agreement ("deal", "I'll take it", "sounds good", "ok 11.8k"). Bare acknowledgements
  ("ok", "yes", a thumbs-up) are ``other``: without the conversation they may acknowledge anything, and an
  accidental acceptance is costlier than a clarifying reply. "ok 11.8k" gives both ``offer`` (11,800) and
  ``accept``; the strategy treats an offer at or above its last counter as acceptance.
* ``price_inquiry`` asks for price information (how much, lowest, best price, firm?, negotiable?, OBO?);
  ``haggle`` asks the seller to move (go lower, come down, meet in the middle, discount, too high).
* ``reject``: the buyer declines or walks away (no thanks, I'll pass, found another).
* ``payment`` is a payment method or financing as a topic; "7000 cash" is just an offer.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Final

from accorria_agent.negotiation.lexicon import normalize
from accorria_agent.negotiation.money import find_offer, prepare
from accorria_agent.negotiation.scam import scam_reasons
from accorria_agent.negotiation.schemas import INTENT_PRIORITY, Intent, Understanding
from accorria_agent.negotiation.timeparse import find_time

_Q: Final = r"[^.!?\n]{0,40}"  # bounded gap within one sentence

_HUMAN_RE: Final = re.compile(
    r"\b(?:are you|is this|r you|am i (?:talking|chatting|speaking) (?:to|with)|you a|this an?)"
    r" (?:an? )?(?:bot|robot|ai|automated|machine|computer|real person|real human|human|person)\b"
    r"|\b(?:talk|speak|chat) (?:to|with) (?:the |a |an )?"
    r"(?:owner|seller|human|person|real|someone|somebody|you directly|you on the phone|manager)\b"
    r"|\bcall me\b|\bgive me a call\b|\bcan i (?:call|phone) you\b|\bcan (?:you|we) (?:call"
    r"|talk on the phone)\b"
    r"|\b(?:your|ur) (?:phone ?)?(?:number|#|cell)\b|\bphone number\b|\bnumber to (?:call|text)\b|\btext me\b"
    r"|\bhablar con (?:el|la|una|un|alguien)\b|\bllamame\b|\bllamarte\b|\b(?:eres|es) un (?:bot|robot)\b"
    r"|\b(?:numero|telefono|cel) (?:de telefono|para llamar)?\b(?=[^.!?\n]{0,20}\?)|\bpersona real\b"
)
_ACCEPT_RE: Final = re.compile(
    r"(?:^|[.!,]\s?)(?:ok(?:ay)?|yes|yeah|yep|sure|alright|fine|great|perfect|cool)?[ ,!]*\bdeal\b(?! ?\?)"
    r"|\b(?:it'?s|you (?:got|have)|we (?:have|got)|that'?s) a deal\b(?! ?\?)|\bi'?ll take it\b"
    r"|\bi will take it\b"
    r"|\bsounds (?:good|great|fair|perfect)\b|\bworks for me\b|(?<!if )\bthat works\b|\bagreed\b"
    r"|\blet'?s do (?:it"
    r"|this)\b"
    r"|\bi accept\b|^sold\b(?! (?:yet|already)\b)(?!\?)|\btrato hecho\b|\bde acuerdo\b|\bme lo llevo\b"
    r"|\blo tomo\b|\bacepto\b|\bdale\b|\bva que va\b|\bdone deal\b|\bsee you then\b"
    r"|\bi can do that\b|\b(?:that|it|this) (?:will|would) work\b(?! ?\?)|\bsounds (?:reasonable"
    r"|fair)\b(?! ?\?)"
    r"|\b(?:will|i'?ll) take it\b|\byou'?ve got (?:a|yourself a) deal\b"
    r"|(?:^|that'?s a |sounds like a |it'?s a |what a )(?:good|great) deal\b(?! ?\?)"
    r"|\bthat'?s perfect\b|\bi can work with that\b|\bi (?:will|would) do that\b|\bwill accept\b"
)
_AFFIRM_LEAD_RE: Final = re.compile(r"^(?:ok(?:ay)?|yes|yeah|yep|sure|alright|fine|deal|si|va|dale)\b")
_REJECT_RE: Final = re.compile(
    r"^no\b(?! (?:problem|worries|rush|hurry|prob|pressure|way to|one)\b)(?!\?)|\bno thanks?\b"
    r"|\bno thank you\b"
    r"|\b(?:i'?ll|i will|gonna|going to|i have to|i'?m going to|i must) pass\b|\bnot interested\b|\bno deal\b"
    r"|\bforget it\b|\bnever ?mind\b|\bnvm\b|\b(?:found|bought|got) (?:another|a different|something else"
    r"|one)\b"
    r"|\bno longer (?:interested|need)\b|\bnot (?:for|worth it to) me\b|\bnot gonna work\b"
    r"|\btoo rich for (?:me|my blood)\b|\bwalk away\b|\bno gracias\b|\bya no\b|\bya compre\b|\bpaso\b"
    r"|\bno me interesa\b|\bno,? (?:i can'?t|that'?s too)\b|\bcan'?t do (?:that|it)\b|\bthat won'?t work\b"
    r"|\bcannot do (?:that|it)\b|\bif you change your mind\b|\bthank(?:s| you) for your time\b"
    r"|\bwon'?t be able to (?:reach|make) a deal\b|\bnot (?:feel )?you(?:'re| are)? open to offers\b"
)
_HAGGLE_RE: Final = re.compile(
    r"\b(?:go|come|get|bring it) (?:any )?(?:lower|down)\b|\b(?:lower|drop|reduce|knock down|bring down)"
    r" (?:the |your )?(?:price|it)\b|\bany (?:lower|better)\b|\b(?:do|make it|give me) (?:any |a little "
    r"|a bit )?"
    r"(?:better|cheaper)\b|\bmeet (?:me |you )?(?:in the |halfway|half ?way|somewhere|in between)"
    r"|\bsplit the difference\b|\bdiscount\b|\bwiggle room\b|\b(?:too|kinda|a bit|bit|little|way) (?:high"
    r"|much|"
    r"expensive|steep|pricey)\b|\boverpriced\b|\bsteep\b|\bknock (?:some|something|a little|a bit) off\b"
    r"|\bcheaper\b"
    r"|\bwork with me\b|\bwork (?:with|on) the price\b|\bbetter (?:price|deal)\b(?! ?\?)|\bflexible\b"
    r"|\b(?:lo|me lo) (?:deja|dejas) (?:mas )?(?:barato|en menos)\b|\bmas barato\b|\brebaja\b|\bdescuento\b"
    r"|\bmuy caro\b|\b(?:esta|es) (?:muy |un poco )?caro\b|\b(?:something|anything|a bit|a little) off\b"
    r"|\boff the price\b"
    r"|\bcome down\b|\bdrop it\b|\btake less\b|\baccept less\b|\bless\?"
    r"|\b(?:higher|more) than i (?:was looking to|wanted to|want to|can|could|hoped to) (?:pay|spend)\b"
    r"|\bseems? (?:like )?(?:a lot|high)\b|\bhigher than (?:the )?(?:blue ?book|kbb|book|market)\b"
    r"|\bmore reasonable\b"
    r"|\basking so much\b|\bcounter ?offer\?|\bwhat deal\b|\breconsider the price\b|\bconsider something\b"
    r"|\bstill a \d+ year old\b|\bjump at such an offer\b|\b(?:kbb"
    r"|blue book)\b[^.!?\n]{0,30}\b(?:around|about|is|are)\b"
    r"|\bbooks? (?:out )?at\b|\bcan'?t afford\b|\bdrop down\b|\bhoping we could negotiate\b"
)
_PRICE_RE: Final = re.compile(
    r"\bhow much\b(?! (?:tread|life|rust|oil|gas|room|space|longer|miles|mileage|time|work|is left"
    r"|do you think))|\b(?:rock )?bottom\b"
    r"|\bprice\?|^price\b|\bwhat(?:'s| is| are) (?:the |your )?(?:price|asking|lowest|best|bottom|last|"
    r"final)\b|\b(?:lowest|best|bottom|last|final|least|rock bottom)\b"
    + _Q
    + r"\b(?:price|dollar|number|take"
    r"|accept|go|do|offer|line|figure|amount)\b|\b(?:lowest|best price|bottom line|bottom dollar)\b"
    r"|\bprice (?:firm|negotiable|flexible)\b|\b(?:is|is the price|price) (?:still )?(?:firm|negotiable)\b"
    r"|\bnegotiable\b|\bfirm\?|\bobo\?|\basking price\b|\bwhat are you asking\b|\bhow much (?:are"
    r"|do) you want\b"
    r"|\bcuanto\b|\bprecio\b|\bultimo (?:precio)?\b|\blo menos\b|\bnegociable\b|\bwhat do you want for\b"
    # The floor asked for by name is a price question (answered with the standing price, never the floor).
    r"|\bfloor\b(?! ?mats?\b)|\bminimo\b|\bbottom price\b|\blowest price\b"
    r"|\bnegotiat\w*\b|\bhow low\b|\b(?:you'?re|you are) asking\b[^.!?\n]{0,25}\?|\bwhat (?:you'?re"
    r"|you are) asking\b"
)
_SCHEDULE_RE: Final = re.compile(
    r"\b(?:come (?:see|look|by|check|get|over|out|and)|come to (?:see|look)|stop by|swing by|drop by|pass by"
    r"|check (?:it|her|him|the car|the truck) out|look at (?:it|her|him|the car|the truck)|take a look"
    r"|see (?:it|her|him|"
    r"the car|the truck|the vehicle)(?! (?:has|have|is|was))\b|test ?drive|drive it|viewing|view it"
    r"|pick (?:it|her|him)"
    r" ?up|pick up|come get|meet (?:up|you|today|tomorrow|tonight|at|on|this|somewhere)(?! (?:in|half))"
    r"|when can i|what time|available to (?:see|look|view|check|test)|are you (?:free|around|home"
    r"|available)|you free|be there|i can come|can i come"
    r"|appointment|schedule|set up a time|works for you|work for you|does (?:that|it) work|good time"
    r"|verlo|ir a verl[oa]|pasar a ver|probarlo|prueba de manejo|a que hora|nos vemos|puedo ir|puedo pasar"
    r"|cuando puedo|recogerlo|manejarlo)\b"
)
_AVAILABILITY_RE: Final = re.compile(
    r"\b(?:still|is (?:it|this|the car|the truck|the vehicle)|it|this|car|truck) (?:still )?available\b"
    r"|(?:^|[.!?] ?)available\b(?! (?:to|at|on|for|this|tomorrow|today|after|before|any|in the))"
    r"|\bstill (?:for sale|up for sale|have it|have the|have this|got the|got it|selling|around|there"
    r"|on sale|up)\b|\b(?:sold|gone) (?:yet|already)\b"
    r"|\b(?:is it|has it been|did it|was it|it) sold\b|\bis it gone\b|\byou still have\b|\bdo you still\b"
    r"|\bstill (?:available|avail)\b|\bdisponible\b|\btodavia (?:lo tienes|lo tiene|esta|la tienes)\b"
    r"|\bsigue (?:a la venta|en venta|disponible)\b|\blo vendiste\b|\b(?:lo |la )?sigue vendiendo\b"
    r"|\bya se vendio\b|\baun (?:esta|lo tienes)\b"
    r"|\bsold\?|\bstill for sale\b|\bfor sale still\b|\bavailable\?$|\bselling (?:the|this|your) \w+ still\b"
    r"|\bhave (?:a|an|the|this) [\w -]{1,20} for sale\?"
)
_LOCATION_RE: Final = re.compile(
    r"\bwhere'?s (?:it|the car|the truck|the vehicle|that|this|he|she|you|your)\b|\b(?:is it|are you"
    r"|is the car) near\b|\bwhere (?:are you|is (?:it|the car|the truck|this|she|he)|r you|you at|at"
    r"|located|exactly|can i|do i|is the)\b"
    r"|\blocated\b|\blocation\b|\bwhat (?:area|city|town|part of|side of|zip|neighborhood|state)\b"
    r"|\baddress\b"
    r"|\bhow far\b|\bcross ?streets\b|\bnear (?:me|where)\b|\bdeliver(?:y)?\b|\bbring it (?:to|over)\b"
    r"|\bdonde\b|\bubicacion\b|\bubicad[oa]\b|\bdireccion\b|\bque (?:area|ciudad|parte)\b|\bzip code\?"
    r"|\bwhere\?"
)
_PAYMENT_RE: Final = re.compile(
    r"\b(?:zelle|venmo|cash ?app|paypal|apple pay|cashier'?s? ?checks?|certified checks?|bank checks?"
    r"|money orders?"
    r"|personal checks?|(?:pay|paying) (?:by|with|in|via|through|using) (?:a )?\w+|pay (?:you )?(?:directly"
    r"|in person)|monthly|a month|pay the rest|down payment|deposit|loan|credit union|payment is"
    r"|the payment|wire (?:transfer|the money)"
    r"|bank transfer|financ\w*|payment plan|make payments|monthly payments?|credit cards?|debit cards?|escrow"
    r"|bank loan|car loan|pre-?approved|(?:take|accept) (?:cards?|checks?|crypto|bitcoin|zelle|venmo)"
    r"|bitcoin|crypto"
    r"|efectivo|financiamiento|a plazos|pagos|transferencia|forms? of payment|payment method"
    r"|how (?:do you want|would you like|should"
    r" i|can i) (?:to )?(?:pay|be paid)|pay (?:you )?cash|paying cash|in cash|cash only|cash\?|cash (?:ok"
    r"|okay|is (?:ok|fine|good))|(?:take|accept) cash|cheque|cashiers?)\b"
)
_OFFER_CASH_RE: Final = re.compile(r"\d\s?k?\s?(?:dollars |bucks )?(?:in )?cash\b")
_TRADE_RE: Final = re.compile(
    r"\btrades?\b(?!mark)|\btrading\b|\btrade-?in\b|\bswap\b|\bcambio\b|\bintercambi\w*\b"
    r"|\bcambiar(?:lo)? por\b"
    r"|\bx my\b|\bplus (?:some |a little )?(?:cash|money)\b|\b(?:plus|\+) my\b"
)
_GREETING_RE: Final = re.compile(
    r"^(?:hi+|hello+|hey+|hiya|howdy|yo|sup|greetings|good (?:morning|afternoon|evening|day)|hola|buenas"
    r"|buenos dias|buenas (?:tardes|noches)|que tal|hey there|hi there|morning|ola)\b"
)
_THANKS_RE: Final = re.compile(
    r"\b(?:thanks|thank you|thank u|appreciate (?:it|you|that)|much appreciated|gracias|muchas gracias"
    r"|cheers)\b"
)
_QUESTION_RE: Final = re.compile(
    r"\?|^(?:does|do|is|are|has|have|how|what|which|when|any|can|could|was|were|did|tiene|cuantas?|cuantos"
    r"|como|que"
    r"|esta)\b|\b(?:tell me|wondering|want to know|wanted to know|curious|more info|info on|details"
    r"|would like to know|some information|any (?:issues|"
    r"problems)|let me know|send (?:me )?(?:more )?(?:pictures|photos|a video|the vin))\b"
)

# (topic, pattern) in a fixed order so vehicle_topics is stable.
_TOPICS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    (
        "mpg",
        re.compile(
            r"\bmpg\b|\bgas mileage\b|\bfuel (?:economy|efficiency)\b|\bgas (?:does it|consumption)\b"
        ),
    ),
    (
        "mileage",
        re.compile(
            r"(?<!gas )\bmileage\b|\bhow many miles\b|\bmiles (?:on|does|is|it has)\b|\bodometer\b"
            r"|\bkilometraje\b"
            r"|\bmillas\b|\bmiles\b|\bhigh miles\b|\blow miles\b"
        ),
    ),
    ("title", re.compile(r"\btitle\b|\bsalvage\b|\brebuilt\b|\blien\b|\bpink slip\b|\btitulo\b|\bpapeles\b")),
    (
        "accidents",
        re.compile(
            r"\bbody ?work\b|\baccidentes?\b|\baccidents?\b|\bwrecks?\b|\bwrecked\b|\bcrash\w*\b"
            r"|\bcollision\b"
            r"|\bchoque\w*\b|\bbeen hit\b"
        ),
    ),
    (
        "history",
        re.compile(
            r"\brental\b|\bfleet\b|\bcarfax\b|\bautocheck\b|\bhistory report\b|\bvehicle history\b"
            r"|\bhistorial\b"
        ),
    ),
    ("vin", re.compile(r"\bvin\b")),
    (
        "owners",
        re.compile(
            r"\bhow many owners\b|\b(?:one|first|1|previous|prior|single) owners?\b|\bduenos\b"
            r"|\b(?:only|other|original) owners?\b|\bhow many (?:other )?owners\b|\bbuy it used\b"
        ),
    ),
    (
        "maintenance",
        re.compile(
            r"\bmaintenance\b|\bservice (?:records|history)\b|\bservice\b|\btiming chain\b|\brecords\b"
            r"|\boil changes?\b|\btiming belt\b"
            r"|\bserviced\b|\bmantenimiento\b|\brepairs?\b|\breceipts\b|\bwork (?:have you |has been )?done\b"
            r"|\bhow is the oil\b|\breplaced\b"
        ),
    ),
    (
        "transmission",
        re.compile(
            r"\btransmission\b|\bautomatic\b|\bmanual\b|\bstick ?shift\b|\bcvt\b|\bshifts?\b|\bclutch\b"
        ),
    ),
    (
        "engine",
        re.compile(
            r"\bengine\b(?! light)|\bmotor\b|\bv6\b|\bv8\b|\b4 ?cyl\w*|\bturbo\b|\bhead gasket\b"
            r"|\bcylinders?\b|\bburns? oil\b|\bburning oil\b"
        ),
    ),
    ("warning_lights", re.compile(r"\bcheck engine\b|\bwarning lights?\b|\blights? on\b|\bdash lights?\b")),
    ("tires", re.compile(r"\btires?\b|\btyres?\b|\btread\b|\bllantas\b")),
    ("brakes", re.compile(r"\bbrakes?\b|\bbreaks\?|\brotors\b|\bfrenos\b")),
    ("warranty", re.compile(r"\bwarranty\b|\bgarantia\b")),
    ("climate", re.compile(r"\ba/?c\b|\bair condition\w*\b|\bheater\b|\bheat work|\baire\b|\bcold air\b")),
    ("rust", re.compile(r"\brust\w*\b|\boxido\b|\brot\w*\b|\bframe\b")),
    (
        "interior",
        re.compile(r"\binterior\b|\bsmok\w+\b|\bpets?\b|\bsmell\w*\b|\bseats?\b(?! belt)|\bstains?\b"),
    ),
    (
        "drivetrain",
        re.compile(r"\bawd\b|\b4wd\b|\b4x4\b|\bfwd\b|\brwd\b|\ball ?wheel\b|\bfour wheel\b|\b2wd\b"),
    ),
    (
        "features",
        re.compile(
            r"\bfeatures\b|\bbluetooth\b|\bbackup camera\b|\bcamera\b|\bcarplay\b|\bandroid auto\b"
            r"|\bsunroof\b"
            r"|\bmoonroof\b|\bleather\b|\bheated\b|\bnavigation\b|\bnav\b|\boptions\b|\bpackage\b"
            r"|\bremote start\b|\bmoon ?roof\b|\bsun ?roof\b|\bcover for it\b|\bcome with it\b"
        ),
    ),
    ("color", re.compile(r"\bcolou?r\b|\bpaint\b")),
    ("photos", re.compile(r"\bpictures?\b|\bphotos?\b|\bvideo\b|\bfotos?\b")),
    (
        "registration",
        re.compile(r"\bregistration\b|\bregistered\b|\bplates?\b|\btags\b|\bemissions\b|\bsmog\b"),
    ),
    ("keys", re.compile(r"\bkeys?\b|\bkey fob\b|\bfobs?\b")),
    ("trim", re.compile(r"\btrim\b|\bwhich model\b|\bwhat model\b")),
    (
        "year",
        re.compile(
            r"\bwhat year\b|\bwhich year\b|\byear is it\b|\bhow old\b|\bnew or used\b|\bwhen did you (?:get"
            r"|buy)\b"
            r"|\bhow long (?:have|hve|has|did) (?:you|it)\b|\bmake of the car\b"
        ),
    ),
    (
        "inspection",
        re.compile(r"\bmechanic\b|\binspect\w*\b|\bpre-?purchase\b|\bppi\b|\bmecanico\b|\bdiagnos\w*\b"),
    ),
    (
        "condition",
        re.compile(
            r"\bcondition\b|\bissues?\b|\bproblems?\b|\banything wrong\b|\bwhat'?s wrong\b|\brun(?:s|ning)? "
            r"(?:good|well|ok|fine|great|strong)\b|\bdrives? (?:good|well|ok|fine)\b|\bhow does it (?:run"
            r"|drive)\b"
            r"|\bdoes it run\b|\bleaks?\b|\bdents?\b|\bscratch\w*\b|\bdamage\w*\b|\bnoises?\b|\bestado\b"
            r"|\bproblemas?\b|\bfallas?\b|\bmechanical\b|\bwork properly\b|\bsmoke\b|\bknock\w*\b"
            r"|\bfix\w*\b|\bneed anything\b|\beverything work\b|\bgarage kept\b|\bgood shape\b"
            r"|\bride smooth\b"
            r"|\bflaws?\b|\bdefects?\b|\bhow clean\b|\bdetailed\b|\bfender\b|\bbattery\b|\bgarage\b"
        ),
    ),
    (
        "general",
        re.compile(
            r"\bwhy (?:are you |r you )?sell\w*\b|\btell me (?:more )?about\b|\bmore (?:info|information"
            r"|details)\b|\binfo\b|\breason for selling\b|\bwhy you (?:chose|decided) to sell\b"
            r"|\b(?:more|little more|bit more) about (?:it|the car|the truck|this)\b|\binformation about\b"
            r"|\badditional information\b|\bknow more\b|\btell me a (?:little|bit)\b"
        ),
    ),
)


def _topics(norm: str) -> tuple[str, ...]:
    found = tuple(code for code, pattern in _TOPICS if pattern.search(norm))
    if "mpg" in found and "mileage" in found and not re.search(r"\b(?:how many miles|odometer)\b", norm):
        found = tuple(t for t in found if t != "mileage")
    return found


def _sole_day_message(norm: str) -> bool:
    """Messages like "tomorrow?", "Saturday works", "mañana a las 5" are time proposals by themselves."""
    words = re.findall(r"[a-z']+", norm)
    filler = {
        "ok",
        "okay",
        "how",
        "about",
        "what",
        "works",
        "work",
        "good",
        "fine",
        "then",
        "or",
        "and",
        "is",
        "at",
        "on",
        "this",
        "next",
        "the",
        "a",
        "las",
        "el",
        "in",
        "morning",
        "afternoon",
        "evening",
        "pm",
        "am",
        "around",
        "maybe",
        "for",
        "you",
        "me",
        "de",
        "la",
        "en",
        "por",
        "noon",
        "night",
        "tonight",
        "today",
        "tomorrow",
        "manana",
        "hoy",
        "tarde",
        "noche",
        "weekend",
        "que",
        "le",
        "te",
        "parece",
        "sound",
        "sounds",
        "good?",
    }
    return bool(words) and all(w in filler or w in _DAY_WORDS for w in words)


_DAY_WORDS: Final = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves viernes sabado "
    "domingo mon tue tues wed thu thur thurs fri sat sun".split()
)


def understand(
    text: str,
    asking_price: Decimal | None = None,
    sent_at: datetime | None = None,
    timezone: str = "America/Detroit",
) -> Understanding:
    """Parse one buyer message.

    ``asking_price`` lets bare numbers be read on the right scale ("7.9" -> 7,900) and resolves relative
    offers ("500 off"); ``sent_at`` is the instant relative times are resolved against. With no ``sent_at``
    the parser cannot know what "tomorrow" means and ``proposed_time`` is ``None`` (pure code never reads
    the clock). ``timezone`` is the seller's IANA zone; ``proposed_time`` is aware in that zone.
    """
    norm = normalize(text if isinstance(text, str) else "")
    prepared = prepare(norm)
    found: set[Intent] = set()

    parsed = find_offer(prepared, asking_price)
    offer = parsed.offer
    if offer is not None:
        found.add(Intent.OFFER)
    if _HUMAN_RE.search(prepared):
        found.add(Intent.HUMAN_REQUEST)
    if _ACCEPT_RE.search(norm) or (offer is not None and _AFFIRM_LEAD_RE.search(norm)):
        found.add(Intent.ACCEPT)
    if _REJECT_RE.search(norm):
        found.add(Intent.REJECT)
    if offer is None and (_HAGGLE_RE.search(norm) or parsed.relative_unresolved):
        found.add(Intent.HAGGLE)
    if _PRICE_RE.search(norm) or (parsed.mentions_asking and "?" in norm):
        found.add(Intent.PRICE_INQUIRY)
    # "7000 cash" is an attribute of the offer, not a payment-method topic.
    if _PAYMENT_RE.search(_OFFER_CASH_RE.sub(" ", prepared)):
        found.add(Intent.PAYMENT)
    if _TRADE_RE.search(norm):
        found.add(Intent.TRADE_IN)
    topics = _topics(norm)
    if topics and _QUESTION_RE.search(norm):
        found.add(Intent.VEHICLE_QUESTION)
    else:
        topics = ()
    if _LOCATION_RE.search(prepared):
        found.add(Intent.LOCATION)
    if _AVAILABILITY_RE.search(norm):
        found.add(Intent.AVAILABILITY)
    if _GREETING_RE.search(norm):
        found.add(Intent.GREETING)
    if _THANKS_RE.search(norm):
        found.add(Intent.THANKS)

    mention = find_time(prepared, sent_at, timezone)
    time_words = _time_reference(prepared)
    if _SCHEDULE_RE.search(norm) or (time_words and (_sole_day_message(norm) or _clock_given(prepared))):
        found.add(Intent.SCHEDULE)
    proposed = mention.when if mention is not None and Intent.SCHEDULE in found else None

    reasons = scam_reasons(prepared)
    if reasons:
        # A scam is not a genuine wish to talk to a person, nor is a shipper's pickup a viewing.
        found.discard(Intent.HUMAN_REQUEST)
        if "check_and_shipper" in reasons:
            found.discard(Intent.SCHEDULE)
        if set(reasons) & _PAYMENT_SCAMS:
            found.add(Intent.PAYMENT)
        if "history_report" in reasons:
            found.add(Intent.VEHICLE_QUESTION)
    intents = tuple(i for i in INTENT_PRIORITY if i in found) or (Intent.OTHER,)
    return Understanding(
        intent=intents[0],
        intents=intents,
        offer=offer,
        scam=bool(reasons),
        scam_reasons=reasons,
        proposed_time=proposed,
        vehicle_topics=topics if Intent.VEHICLE_QUESTION in found else (),
    )


_PAYMENT_SCAMS: Final = frozenset(
    {"overpayment", "check_and_shipper", "gift_card", "payment_app_upgrade", "deposit_link", "advance_fee"}
)
_TIME_REF_RE: Final = re.compile(
    r"\b(?:today|tonight|tomorrow|manana|hoy|this (?:morning|afternoon|evening|weekend)|weekend|noon"
    r"|after work"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles|jueves|viernes|sabado"
    r"|domingo|esta (?:noche|tarde))\b|\d\s?(?:am|pm|a\.m|p\.m)\b|\d:\d\d|\b(?:at|a las"
    r"|around) \d{1,2}\b(?!\s?k\b)"
)
_CLOCK_GIVEN_RE: Final = re.compile(
    r"\d\s?(?:am|pm|a\.m|p\.m)\b|\d:\d\d|\b(?:at|a las|around|by|after) \d{1,2}\b(?![\d,.]|\s?(?:k|mil"
    r"|grand)\b)"
    r"|\b(?:morning|afternoon|evening|tonight|noon|after work|en la manana|la tarde|esta noche)\b"
)


def _time_reference(prepared: str) -> bool:
    return _TIME_REF_RE.search(prepared) is not None


def _clock_given(prepared: str) -> bool:
    return _CLOCK_GIVEN_RE.search(prepared) is not None
