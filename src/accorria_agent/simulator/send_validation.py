"""Validation of Send API requests, with Meta's limits and error codes.

Only what can be checked from the request itself lives here (shape, lengths, counts,
enumerations); checks that need state (unknown PSID, messaging window) are done by
:mod:`.graph_api`. Limits come from the Send API / templates reference:

* ``message.text`` ≤ 2000 characters, ``message.metadata`` ≤ 1000;
* ``quick_replies`` 1–13, title ≤ 20, payload ≤ 1000;
* button template: ``text`` ≤ 640, 1–3 buttons, button title ≤ 20;
* generic template: 1–10 elements, title/subtitle ≤ 80, ≤ 3 buttons per element;
* ``messaging_type`` ∈ {RESPONSE, UPDATE, MESSAGE_TAG}; ``sender_action`` ∈
  {typing_on, typing_off, mark_seen} and never together with ``message``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import GraphError, param_error

MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
NOTIFICATION_TYPES = ("REGULAR", "SILENT_PUSH", "NO_PUSH")
#: Tags usable today; both only within 7 days of the buyer's last message.
SEVEN_DAY_TAGS = ("HUMAN_AGENT", "CUSTOMER_FEEDBACK")
#: Tags Meta retired; the simulator rejects them so the agent never relies on them.
RETIRED_TAGS = ("ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE")
MEDIA_TYPES = ("image", "audio", "video", "file")
BUTTON_TYPES = ("web_url", "postback", "phone_number")

MAX_TEXT = 2000
MAX_METADATA = 1000
MAX_PAYLOAD = 1000
MAX_QUICK_REPLIES = 13
MAX_QR_TITLE = 20
MAX_BUTTON_TITLE = 20
MAX_BUTTON_TEXT = 640
MAX_GENERIC_TEXT = 80
MAX_GENERIC_ELEMENTS = 10


@dataclass
class SendFields:
    """The parts of a Send API request, extracted leniently (for logging and validation)."""

    recipient: Any
    recipient_id: str | None
    messaging_type: Any
    tag: Any
    message: Any
    sender_action: Any
    notification_type: Any

    @property
    def metadata(self) -> str | None:
        """``message.metadata`` if it is a string (it is echoed back verbatim)."""
        if isinstance(self.message, dict):
            meta = self.message.get("metadata")
            if isinstance(meta, str):
                return meta
        return None


def decode_param(value: Any) -> Any:
    """Decode a form/query parameter that carries JSON, as Graph accepts.

    Meta's own curl examples send ``recipient={'id':'…'}`` with single quotes, so
    that spelling is accepted too.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("{", "[")):
        return value
    for candidate in (text, text.replace("'", '"')):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return value


def extract(params: dict[str, Any]) -> SendFields:
    """Pull the Send API fields out of the merged request parameters; never raises."""
    recipient = decode_param(params.get("recipient"))
    recipient_id: str | None = None
    if isinstance(recipient, dict):
        rid = recipient.get("id")
        if isinstance(rid, str | int) and not isinstance(rid, bool):
            recipient_id = str(rid)
    return SendFields(
        recipient=recipient,
        recipient_id=recipient_id,
        messaging_type=params.get("messaging_type"),
        tag=params.get("tag"),
        message=decode_param(params.get("message")),
        sender_action=params.get("sender_action"),
        notification_type=params.get("notification_type"),
    )


def validate(fields: SendFields) -> None:
    """Raise :class:`GraphError` when the request is malformed (state-free checks only)."""
    if fields.recipient is None:
        raise param_error("The parameter recipient is required")
    if not isinstance(fields.recipient, dict) or fields.recipient_id is None:
        raise param_error("param recipient must be an object with an id")
    has_message = fields.message is not None
    has_action = fields.sender_action is not None
    if has_message and has_action:
        raise param_error("Only one of message or sender_action can be specified")
    if not has_message and not has_action:
        raise param_error("Must send either message or sender_action")
    if has_action:
        if fields.sender_action not in SENDER_ACTIONS:
            raise param_error(f"Param sender_action must be one of {{{', '.join(SENDER_ACTIONS)}}}")
        return
    _validate_messaging_type(fields)
    if fields.notification_type is not None and fields.notification_type not in NOTIFICATION_TYPES:
        raise param_error(f"Param notification_type must be one of {{{', '.join(NOTIFICATION_TYPES)}}}")
    _validate_message(fields.message)


def _validate_messaging_type(fields: SendFields) -> None:
    mtype, tag = fields.messaging_type, fields.tag
    if mtype is None:
        raise param_error("The parameter messaging_type is required")
    if mtype not in MESSAGING_TYPES:
        raise param_error(f"Param messaging_type must be one of {{{', '.join(MESSAGING_TYPES)}}}")
    if mtype == "MESSAGE_TAG":
        if tag is None:
            raise param_error("Param tag is required when messaging_type is MESSAGE_TAG")
        if tag in RETIRED_TAGS:
            raise param_error(f"Param tag: {tag} is no longer supported. Use HUMAN_AGENT where allowed")
        if tag not in SEVEN_DAY_TAGS:
            raise param_error(f"Param tag must be one of {{{', '.join(SEVEN_DAY_TAGS)}}}")
    elif tag is not None:
        raise param_error("Param tag can only be used with messaging_type MESSAGE_TAG")


def _validate_message(message: Any) -> None:
    if not isinstance(message, dict):
        raise param_error("param message must be a JSON object")
    text, attachment = message.get("text"), message.get("attachment")
    if text is not None and attachment is not None:
        raise param_error("Only one of text or attachment can be specified in param message")
    if text is None and attachment is None:
        raise param_error("Message cannot be empty, must provide valid attachment or text", subcode=2018034)
    if text is not None:
        _check_text(text, "message[text]", MAX_TEXT, required=True)
    else:
        _validate_attachment(attachment)
    metadata = message.get("metadata")
    if metadata is not None:
        _check_text(metadata, "message[metadata]", MAX_METADATA, required=False)
    quick_replies = message.get("quick_replies")
    if quick_replies is not None:
        _validate_quick_replies(quick_replies)


def _check_text(value: Any, param: str, limit: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise param_error(f"param {param} must be a string")
    if required and not value.strip():
        raise param_error("Message cannot be empty, must provide valid attachment or text", subcode=2018034)
    if len(value) > limit:
        raise param_error(f"Length of param {param} must be less than or equal to {limit}")


def _check_list(value: Any, param: str, low: int, high: int) -> list[Any]:
    if not isinstance(value, list):
        raise param_error(f"param {param} must be an array")
    if len(value) < low:
        raise param_error(f"param {param} must have at least {low} element(s)")
    if len(value) > high:
        raise param_error(f"param {param} has too many elements (maximum {high})")
    return value


def _validate_quick_replies(value: Any) -> None:
    items = _check_list(value, "message[quick_replies]", 1, MAX_QUICK_REPLIES)
    for i, qr in enumerate(items):
        param = f"message[quick_replies][{i}]"
        if not isinstance(qr, dict):
            raise param_error(f"param {param} must be an object")
        ctype = qr.get("content_type")
        if ctype in ("user_phone_number", "user_email"):
            continue
        if ctype != "text":
            raise param_error(
                f"param {param}[content_type] must be one of {{text, user_phone_number, user_email}}"
            )
        title, payload = qr.get("title"), qr.get("payload")
        if title is None and qr.get("image_url") is None:
            raise param_error(f"param {param}[title] is required")
        if title is not None:
            _check_text(title, f"{param}[title]", MAX_QR_TITLE, required=False)
        if payload is None:
            raise param_error(f"param {param}[payload] is required")
        if not isinstance(payload, str | int) or isinstance(payload, bool):
            raise param_error(f"param {param}[payload] must be a string")
        _check_text(str(payload), f"{param}[payload]", MAX_PAYLOAD, required=False)


def _validate_attachment(attachment: Any) -> None:
    if not isinstance(attachment, dict):
        raise param_error("param message[attachment] must be an object")
    atype, payload = attachment.get("type"), attachment.get("payload")
    if atype not in (*MEDIA_TYPES, "template"):
        raise param_error(
            "param message[attachment][type] must be one of {image, audio, video, file, template}"
        )
    if not isinstance(payload, dict):
        raise param_error("param message[attachment][payload] must be an object")
    if atype in MEDIA_TYPES:
        if not (isinstance(payload.get("url"), str) or payload.get("attachment_id") is not None):
            raise param_error("param message[attachment][payload] requires url or attachment_id")
        return
    ttype = payload.get("template_type")
    if ttype == "button":
        _check_text(payload.get("text"), "message[attachment][payload][text]", MAX_BUTTON_TEXT, required=True)
        _validate_buttons(payload.get("buttons"), "message[attachment][payload][buttons]", low=1)
    elif ttype == "generic":
        elements = _check_list(
            payload.get("elements"), "message[attachment][payload][elements]", 1, MAX_GENERIC_ELEMENTS
        )
        for i, element in enumerate(elements):
            param = f"message[attachment][payload][elements][{i}]"
            if not isinstance(element, dict):
                raise param_error(f"param {param} must be an object")
            _check_text(element.get("title"), f"{param}[title]", MAX_GENERIC_TEXT, required=True)
            if element.get("subtitle") is not None:
                _check_text(element.get("subtitle"), f"{param}[subtitle]", MAX_GENERIC_TEXT, required=False)
            if element.get("buttons") is not None:
                _validate_buttons(element.get("buttons"), f"{param}[buttons]", low=1)
    elif ttype == "media":
        elements = _check_list(payload.get("elements"), "message[attachment][payload][elements]", 1, 1)
        if not isinstance(elements[0], dict) or elements[0].get("media_type") not in ("image", "video"):
            raise param_error(
                "param message[attachment][payload][elements][0][media_type] must be image or video"
            )
    else:
        raise param_error(
            "param message[attachment][payload][template_type] must be one of {button, generic, media}"
        )


def _validate_buttons(value: Any, param: str, *, low: int) -> None:
    buttons = _check_list(value, param, low, 3)
    for i, button in enumerate(buttons):
        bparam = f"{param}[{i}]"
        if not isinstance(button, dict):
            raise param_error(f"param {bparam} must be an object")
        btype = button.get("type")
        if btype not in BUTTON_TYPES:
            raise param_error(f"param {bparam}[type] must be one of {{{', '.join(BUTTON_TYPES)}}}")
        _check_text(button.get("title"), f"{bparam}[title]", MAX_BUTTON_TITLE, required=True)
        if btype == "web_url":
            url = button.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise param_error(f"param {bparam}[url] must be a valid http(s) URL")
        elif btype == "postback":
            _check_text(button.get("payload"), f"{bparam}[payload]", MAX_PAYLOAD, required=True)
        else:
            number = button.get("payload")
            if not isinstance(number, str) or not number.startswith("+"):
                raise param_error(f"param {bparam}[payload] must be a phone number starting with +")


def window_error() -> GraphError:
    """``(#10)`` outside-the-window error (HTTP 400 like the real API, subcode 2018278)."""
    return GraphError(
        "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
        "https://developers.facebook.com/docs/messenger-platform/policy-overview",
        10,
        subcode=2018278,
    )


def no_matching_user() -> GraphError:
    """``(#100) No matching user found`` (subcode 2018001) for unknown PSIDs."""
    return param_error("No matching user found", subcode=2018001)
