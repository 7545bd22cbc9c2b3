"""A scriptable OpenAI-compatible chat server (FastAPI) for phraser tests.

``FakeOpenAI().client()`` returns an ``AsyncOpenAI`` whose requests go in-process to the app through
``ASGITransport`` (httpx2 with openai >= 3, httpx before) — no sockets. Each test sets what the next
completion does: return a text, sleep first, answer with an HTTP error, or send malformed JSON. Every
request body is recorded, so tests can inspect exactly what was sent to the "model".
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from openai import AsyncOpenAI

try:  # openai >= 3 is built on httpx2; older releases on httpx (both expose ASGITransport)
    import httpx2 as _http
except ImportError:  # pragma: no cover
    import httpx as _http  # type: ignore[no-redef]

Mode = Literal["text", "status", "malformed", "no_choices"]


@dataclass
class Script:
    """What the fake does for each completion request."""

    mode: Mode = "text"
    text: str | None = "Hello!"
    delay_s: float = 0.0
    status: int = 500


@dataclass
class FakeOpenAI:
    """The fake server: ``script`` drives it, ``requests`` records every JSON body it received."""

    script: Script = field(default_factory=Script)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._completions)

    async def _completions(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        script = self.script
        if script.delay_s:
            await asyncio.sleep(script.delay_s)
        if script.mode == "status":
            error = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
            return JSONResponse(error, status_code=script.status)
        if script.mode == "malformed":
            return Response(b'{"id": "chatcmpl-1", "choices": [', media_type="application/json")
        choices: list[dict[str, Any]] = []
        if script.mode == "text":
            choices = [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": script.text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ]
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": choices,
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    def client(self, **options: Any) -> AsyncOpenAI:
        """An SDK client wired to this app in-process (``max_retries=0`` unless overridden)."""
        transport = _http.ASGITransport(app=self.app)
        http_client = _http.AsyncClient(transport=transport, base_url="http://fake-openai.test/v1")
        options.setdefault("max_retries", 0)
        return AsyncOpenAI(
            api_key="test-key", base_url="http://fake-openai.test/v1", http_client=http_client, **options
        )
