"""An in-memory Graph API double: records every request and answers like Meta (success by default)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class RecordedCall:
    path: str
    params: dict[str, str]
    body: dict[str, Any]
    authorization: str = ""


@dataclass
class FakeGraph:
    """Use ``FakeGraph().transport`` as the runtime's graph transport."""

    calls: list[RecordedCall] = field(default_factory=list)
    # Queue of (status, json) answers to give before falling back to success.
    scripted: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        self.calls.append(
            RecordedCall(
                request.url.path, dict(request.url.params), body, request.headers.get("authorization", "")
            )
        )
        if self.scripted:
            status, answer, headers = self.scripted.pop(0)
            return httpx.Response(status, json=answer, headers=headers)
        recipient = body.get("recipient", {}).get("id", "")
        if "sender_action" in body:
            return httpx.Response(200, json={"recipient_id": recipient})
        return httpx.Response(
            200, json={"recipient_id": recipient, "message_id": f"m_fake_{next(self._ids)}"}
        )

    def messages(self, recipient: str | None = None) -> list[dict[str, Any]]:
        """Bodies of message sends (not sender actions), optionally for one recipient."""
        return [
            c.body
            for c in self.calls
            if "message" in c.body
            and (recipient is None or c.body.get("recipient", {}).get("id") == recipient)
        ]
