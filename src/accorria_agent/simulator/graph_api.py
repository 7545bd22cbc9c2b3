"""The fake Graph API the agent calls (mounted by the app under ``/graph``).

Paths are relative to the router; ``{version}`` must equal ``SimulatorConfig.graph_version``
(anything else is a Graph-style error, code 2500). ``{node}`` is ``me`` or the Page id.

Runtime endpoints (fault injection applies to these):

* ``POST /{version}/{node}/messages`` — Send API. Checks, in order: token (190), injected
  faults, node, request shape and Meta's limits (100 / 2018034), known PSID (100/2018001),
  the messaging window (10/2018278: 24 h after the buyer's last message for RESPONSE /
  UPDATE and sender actions, 7 days for ``MESSAGE_TAG`` + ``HUMAN_AGENT``). Success →
  ``{"recipient_id", "message_id"}`` and, in the background, an echo and a delivery
  webhook. Every request is logged (see ``GET /simulator/api/sent``).
* ``GET /{version}/{psid}`` — user profile (``first_name``, ``last_name``, ``profile_pic``…);
  ``GET /{version}/me`` — the Page.
* ``POST /{version}/{node}/pass_thread_control|take_thread_control|request_thread_control``,
  ``GET /{version}/{node}/thread_owner?recipient=PSID`` — handover protocol.

Setup endpoints (messenger_profile, subscribed_apps, oauth/access_token, debug_token) are in
:mod:`.graph_admin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .errors import GraphError, param_error, unsupported_request
from .graph_admin import add_admin_routes
from .graph_common import (
    check_node,
    check_version,
    graph_endpoint,
    inject_fault,
    read_params,
    require_page_token,
)
from .send_validation import decode_param, extract, no_matching_user, validate, window_error
from .state import HUMAN_AGENT_WINDOW, STANDARD_WINDOW, BuyerThread, SentRequest, SimulatorState

if TYPE_CHECKING:
    from .core import Simulator

PROFILE_FIELDS = ("id", "name", "first_name", "last_name", "profile_pic", "locale", "timezone", "gender")
DEFAULT_PROFILE_FIELDS = ("first_name", "last_name", "profile_pic", "id")


def build_graph_router(sim: Simulator) -> APIRouter:
    """Create the Graph API router bound to ``sim``."""
    state = sim.state
    router = APIRouter()

    @router.post("/{version}/{node}/messages")
    async def send_api(version: str, node: str, request: Request) -> Response:
        return await _send(sim, version, node, request)

    @router.post("/{version}/{node}/pass_thread_control")
    @graph_endpoint
    async def pass_thread_control(version: str, node: str, request: Request) -> Response:
        thread, params = await _handover_request(state, version, node, request)
        target = params.get("target_app_id")
        if target is None or not str(target).isdigit():
            raise param_error("The parameter target_app_id is required")
        thread.owner_app_id = None if str(target) == sim.config.app_id else int(str(target))
        _log_handover(state, thread, "pass_thread_control", params, target_app_id=int(str(target)))
        return JSONResponse({"success": True})

    @router.post("/{version}/{node}/take_thread_control")
    @graph_endpoint
    async def take_thread_control(version: str, node: str, request: Request) -> Response:
        thread, params = await _handover_request(state, version, node, request)
        thread.owner_app_id = None
        _log_handover(state, thread, "take_thread_control", params)
        return JSONResponse({"success": True})

    @router.post("/{version}/{node}/request_thread_control")
    @graph_endpoint
    async def request_thread_control(version: str, node: str, request: Request) -> Response:
        thread, params = await _handover_request(state, version, node, request)
        # The human in Page Inbox decides; requests are only recorded.
        _log_handover(state, thread, "request_thread_control", params)
        return JSONResponse({"success": True})

    @router.get("/{version}/{node}/thread_owner")
    @graph_endpoint
    async def thread_owner(version: str, node: str, request: Request) -> Response:
        check_version(state, version)
        params = await read_params(request)
        page_id = require_page_token(state, request, params)
        check_node(state, node, page_id)
        thread = state.thread(str(params.get("recipient") or ""))
        if thread is None or (sim.page_of(thread) != page_id and not state.config.token_acts_for_every_page):
            raise no_matching_user()
        owner = thread.owner_app_id if thread.owner_app_id is not None else _app_id(sim)
        return JSONResponse({"data": [{"thread_owner": {"app_id": owner}}]})

    add_admin_routes(router, sim)

    @router.get("/{version}/{node}")
    @graph_endpoint
    async def node_info(version: str, node: str, request: Request) -> Response:
        check_version(state, version)
        params = await read_params(request)
        page_id = require_page_token(state, request, params)
        await inject_fault(state)
        if node in ("me", page_id):
            return JSONResponse({"name": state.page(page_id).name, "id": page_id})
        thread = state.thread(node)
        if thread is None:
            raise unsupported_request("GET", node[:64])
        return JSONResponse(_profile(thread, params.get("fields")))

    @router.api_route("/{version}/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
    @graph_endpoint
    async def unknown(version: str, rest: str, request: Request) -> Response:
        check_version(state, version)
        raise unsupported_request(request.method, rest.split("/")[0][:64])

    return router


async def _send(sim: Simulator, version: str, node: str, request: Request) -> Response:
    """The Send API; every request, accepted or not, lands in the sent log."""
    state = sim.state
    entry = SentRequest(
        id=state.next_id(),
        received_ms=state.now_ms(),
        path=request.url.path,
        recipient=None,
        messaging_type=None,
        tag=None,
        message=None,
        sender_action=None,
        metadata=None,
    )
    state.sent.append(entry)
    try:
        check_version(state, version)
        params = await read_params(request)
        fields = extract(params)
        # Log what was received as received (minus the token, which is never stored).
        entry.recipient = fields.recipient_id
        entry.messaging_type = _str_or_none(fields.messaging_type)
        entry.tag = _str_or_none(fields.tag)
        entry.message = fields.message
        entry.sender_action = _str_or_none(fields.sender_action)
        entry.metadata = fields.metadata
        entry.notification_type = _str_or_none(fields.notification_type)
        page_id = require_page_token(state, request, params)
        await inject_fault(state)
        check_node(state, node, page_id)
        validate(fields)
        thread = state.thread(fields.recipient_id or "")
        if thread is None or (  # PSIDs are Page-scoped
            sim.page_of(thread) != page_id and not state.config.token_acts_for_every_page
        ):
            raise no_matching_user()
        _check_window(state, thread, fields.messaging_type, fields.tag)
        body: dict[str, Any] = {"recipient_id": thread.psid}
        if fields.sender_action is not None:
            _apply_sender_action(state, thread, str(fields.sender_action))
        else:
            stored = sim.record_page_message(thread, fields.message, source="bot", app_id=_app_id(sim))
            body["message_id"] = entry.message_id = stored.mid
        entry.status = 200
        return JSONResponse(body)
    except GraphError as exc:
        entry.status, entry.error = exc.status, exc.summary()
        return exc.response()


def _check_window(state: SimulatorState, thread: BuyerThread, messaging_type: Any, tag: Any) -> None:
    """Enforce the standard 24 h window, or 7 days for HUMAN_AGENT / CUSTOMER_FEEDBACK tags."""
    limit = HUMAN_AGENT_WINDOW if messaging_type == "MESSAGE_TAG" and tag is not None else STANDARD_WINDOW
    age = state.window_age(thread)
    if age is None or age > limit:
        raise window_error()


def _apply_sender_action(state: SimulatorState, thread: BuyerThread, action: str) -> None:
    if action == "typing_on":
        thread.typing = True
    elif action == "typing_off":
        thread.typing = False
    else:  # mark_seen
        thread.seen_at_ms = state.now_ms()


async def _handover_request(
    state: SimulatorState, version: str, node: str, request: Request
) -> tuple[BuyerThread, dict[str, Any]]:
    check_version(state, version)
    params = await read_params(request)
    page_id = require_page_token(state, request, params)
    await inject_fault(state)
    check_node(state, node, page_id)
    recipient = decode_param(params.get("recipient"))
    if not isinstance(recipient, dict) or recipient.get("id") is None:
        raise param_error("The parameter recipient is required")
    thread = state.thread(str(recipient["id"]))
    if thread is None or (
        (thread.page_id or state.config.page_id) != page_id and not state.config.token_acts_for_every_page
    ):
        raise no_matching_user()
    metadata = params.get("metadata")
    if metadata is not None and (not isinstance(metadata, str) or len(metadata) > 1000):
        raise param_error("Length of param metadata must be less than or equal to 1000")
    return thread, params


def _log_handover(
    state: SimulatorState, thread: BuyerThread, action: str, params: dict[str, Any], **extra: Any
) -> None:
    # Meta notifies the *other* app (here the Page Inbox), so the agent gets no webhook.
    state.handover_log.append(
        {
            "at_ms": state.now_ms(),
            "psid": thread.psid,
            "by": "agent",
            "action": action,
            "metadata": params.get("metadata"),
            **extra,
        }
    )


def _profile(thread: BuyerThread, fields_param: Any) -> dict[str, Any]:
    if fields_param is None or fields_param == "":
        wanted: tuple[str, ...] = DEFAULT_PROFILE_FIELDS
    elif isinstance(fields_param, str):
        wanted = tuple(f.strip() for f in fields_param.split(",") if f.strip())
    else:
        raise param_error("param fields must be a comma-separated string")
    for name in wanted:
        if name not in PROFILE_FIELDS:
            raise param_error(f"Tried accessing nonexisting field ({name[:40]}) on node type (User)")
    values: dict[str, Any] = {
        "id": thread.psid,
        "name": f"{thread.first_name} {thread.last_name}".strip(),
        "first_name": thread.first_name,
        "last_name": thread.last_name,
        "profile_pic": thread.profile_pic,
        "locale": "en_US",
        "timezone": -5,
        "gender": "neutral",
    }
    result = {name: values[name] for name in wanted}
    result.setdefault("id", thread.psid)
    return result


def _app_id(sim: Simulator) -> int | str:
    return int(sim.config.app_id) if sim.config.app_id.isdigit() else sim.config.app_id


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)[:200]
