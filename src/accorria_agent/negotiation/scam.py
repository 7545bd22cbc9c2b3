"""Recognise the scams private car sellers meet on Marketplace, with few false alarms.

Each reason is a short, stable code the strategy and the seller dashboard can rely on:

``verification_code``
    The buyer asks for a code the seller received ("send me the 6 digit code Google sent you") — the
    Google Voice / account-takeover scam.
``overpayment``
    The buyer will pay more than the price and asks the seller to send back the difference.
``check_and_shipper``
    A cashier's / certified check, money order or mailed payment combined with a shipper, mover or agent
    picking the car up (often "I'm out of the country / deployed").
``gift_card``
    Payment in, or a request for, gift cards.
``payment_app_upgrade``
    "Upgrade your Zelle / Cash App to a business account", a payment "pending" until the seller pays or
    activates something.
``deposit_link``
    A link the seller is asked to use to receive money, pay a fee or a deposit, or to claim a payment.
``advance_fee``
    The seller is asked to pay a fee (insurance, transfer, shipping) before receiving the buyer's money.
``history_report``
    The buyer insists the seller buys a vehicle history report from a site the buyer names.
``personal_data``
    Requests for the seller's SSN, ID/licence photo, bank login or account and routing numbers, date of
    birth.
``off_platform_contact``
    Moving the chat to e-mail/WhatsApp/text. Legitimate buyers do this too, so it is only ever added as a
    supporting reason when another scam signal is present; on its own it never flags a message.

Ordinary payment questions ("can I pay with a cashier's check?", "do you take Zelle?") are not scams.
"""

from __future__ import annotations

import re
from typing import Final

_VERIFICATION_RE: Final = re.compile(
    r"(?:\b(?:verification|verify|confirmation|security|auth\w*|google(?: voice)?|6|six|[4-8][ -]digit"
    r"|digit|otp"
    r"|one[- ]time)\b[^.!?\n]{0,25}\bcodes?\b|\bcodes?\b[^.!?\n]{0,40}\b(?:sent (?:to )?you|you (?:got|get"
    r"|received)"
    r"|they sent|google|text(?:ed)? (?:to )?you|your phone|verify|verification|confirm)\b"
    r"|\b(?:codigo|code) (?:de )?(?:verificacion|seguridad)|\bcodigo que te (?:llego|mandaron|enviaron)"
    r"|\b(?:send|give|tell|read|text)(?: me)? (?:me )?(?:the |that |your )?(?:6 digit |six digit )?code\b"
    r"|\b(?:send|sent|text|texted|sending) you (?:a|the) code\b|\bread (?:it|the code|them) back\b)"
)
_NOT_VERIFICATION_RE: Final = re.compile(
    r"\b(?:zip|postal|area|promo|discount|lockbox|gate|door|qr)\s?codes?\b"
)

_OVERPAY_RE: Final = re.compile(
    r"\b(?:overpa\w*|over ?pay\w*|pay (?:you )?(?:extra|more than)|send (?:you )?(?:a )?(?:check|payment"
    r"|money)"
    r" (?:for )?(?:more|extra|over)|(?:refund|return|send(?: me)? back|wire back|give back"
    r"|mail back)\b[^.!?\n]{0,30}"
    r"\b(?:difference|extra|balance|rest|excess|remaining|the change)\b|(?:extra|difference|excess|balance)\b"
    r"[^.!?\n]{0,30}\b(?:to|for) (?:my|the) (?:shipper|agent|mover|transporter)|(?:devolver|devuelvas"
    r"|regresar)"
    r"[^.!?\n]{0,20}\bdiferencia)"
)
_REMOTE_PAYMENT_RE: Final = re.compile(
    r"\b(?:cashier'?s? ?checks?|certified (?:bank )?checks?|bank checks?|money orders?|mail(?:ed"
    r"|ing)? (?:you )?"
    r"(?:a |the )?(?:check|cheque|payment)|check (?:in|by) (?:the )?mail|send (?:you )?(?:a |the )?(?:check"
    r"|cheque)"
    r"|cheques?|paypal|wire (?:the )?(?:money|payment|funds)|bank transfer|e-?check|cheque de caja)\b"
)
_SHIPPER_RE: Final = re.compile(
    r"\b(?:shipper|shipping (?:company|agent|agency)|shipping company|transporter|transport company|mover"
    r"|movers"
    r"|courier|pick ?-?up agent|my agent|an agent|the agent|freight|out of (?:the )?(?:country|state|town)"
    r"|overseas|deployed|offshore|oil rig|on a rig|at sea|on a ship|abroad|military base|navy|cruise ship"
    r"|transportista|mi agente|fuera del pais)\b"
)
_GIFT_CARD_RE: Final = re.compile(
    r"\b(?:gift ?cards?|itunes cards?|apple cards?|steam cards?|google play (?:cards?|codes?)|ebay (?:gift"
    r"|cards?)"
    r"|amazon cards?|vanilla (?:visa|cards?)|tarjetas? de regalo)\b"
)
_APP_UPGRADE_RE: Final = re.compile(
    r"(?:\b(?:zelle|cash ?app|venmo|paypal|chime)\b[^.!?\n]{0,60}\b(?:upgrad\w*|business (?:account|acct)"
    r"|premium|activat\w*|pending until|on hold until|increase your limit|limit upgrade)\b"
    r"|\b(?:upgrad\w*|business account|activat\w*)\b[^.!?\n]{0,40}\b(?:zelle|cash ?app|venmo|paypal|chime)\b)"
)
_LINK_RE: Final = re.compile(
    r"<url>|https?://|www\.|\b[a-z0-9-]{1,63}\.(?:com|net|org|io|co|ly|me|info|xyz|site|online|us)\b"
    r"|\bbit\.ly\b"
    r"|\b(?:this|the|a|my) link\b|\bclick (?:here|on|the)\b"
)
_LINK_MONEY_RE: Final = re.compile(
    r"\b(?:deposit|payment|pay|paid|fee|receive|claim|accept (?:the )?(?:payment|money|funds)|escrow"
    r"|refundable"
    r"|verify|verification|confirm|hold|reserve|insurance|funds|money|transfer|sign ?up|register)\b"
)
_ADVANCE_FEE_RE: Final = re.compile(
    r"\b(?:you (?:need to|have to|must|will) (?:pay|send|cover)|(?:pay|send|cover) (?:a |the )?(?:small )?"
    r"(?:fee|insurance|transfer fee|shipping fee|activation fee|processing fee"
    r"|refundable fee))\b[^.!?\n]{0,40}"
    r"\b(?:fee|insurance|before|to (?:receive|release|get)|release|activate|verify)\b"
)
_HISTORY_SITE_RE: Final = re.compile(
    r"(?:\b(?:history report|vehicle report|vin report|vin check|report)\b[^.!?\n]{0,60}"
    r"(?:<url>|\.com|\bwebsite\b|\bsite\b|\blink\b)|(?:buy|purchase|get|run|order)\b[^.!?\n]{0,30}"
    r"\b(?:report|vin check)\b[^.!?\n]{0,40}\b(?:from|on|at|through)\b[^.!?\n]{0,30}(?:\.com|website|site"
    r"|link))"
)
_PERSONAL_DATA_RE: Final = re.compile(
    r"\b(?:ssn|social security(?: number)?|seguro social|date of birth|birth ?date|mother'?s maiden"
    r"|routing (?:number|#)|online banking|bank (?:login|password|pin)|account (?:number|#|and routing)"
    r"|bank (?:account )?(?:details|info|information|number)|numero de cuenta)\b"
)
_ID_REQUEST_RE: Final = re.compile(
    r"\b(?:send|text|email|e-mail|forward|upload|share|picture of|photo of|pic of|scan of|copy of|foto de)\b"
    r"[^.!?\n]{0,25}\b(?:your|ur|tu|su) (?:id|i\.d\.|driver'?s? licen[cs]e|license|licencia|passport"
    r"|identificacion"
    r"|ssn|social)\b"
)
_OFF_PLATFORM_RE: Final = re.compile(
    r"\b(?:e-?mail me|text me|whats ?app|telegram|signal me|hangouts|my email|<email>|@gmail|@yahoo|@outlook"
    r"|@hotmail|contact me (?:at|on|via)|reach me (?:at|on))\b"
    r"|[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,100}\.[a-z]{2,10}"
)


def scam_reasons(norm: str) -> tuple[str, ...]:
    """Stable scam reason codes found in normalised text (see the module docstring), in a fixed order."""
    reasons: list[str] = []
    if _VERIFICATION_RE.search(norm) and not (
        _NOT_VERIFICATION_RE.search(norm) and not re.search(r"\b(?:verif\w*|sent you|digit)\b", norm)
    ):
        reasons.append("verification_code")
    if _OVERPAY_RE.search(norm):
        reasons.append("overpayment")
    if _REMOTE_PAYMENT_RE.search(norm) and _SHIPPER_RE.search(norm):
        reasons.append("check_and_shipper")
    if _GIFT_CARD_RE.search(norm):
        reasons.append("gift_card")
    if _APP_UPGRADE_RE.search(norm):
        reasons.append("payment_app_upgrade")
    if _LINK_RE.search(norm) and _LINK_MONEY_RE.search(norm):
        reasons.append("deposit_link")
    if _ADVANCE_FEE_RE.search(norm):
        reasons.append("advance_fee")
    if _HISTORY_SITE_RE.search(norm):
        reasons.append("history_report")
    if _PERSONAL_DATA_RE.search(norm) or _ID_REQUEST_RE.search(norm):
        reasons.append("personal_data")
    if reasons and _OFF_PLATFORM_RE.search(norm):
        reasons.append("off_platform_contact")
    return tuple(reasons)
