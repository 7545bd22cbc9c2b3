"""A 6 MB webhook body is answered 413 over a real socket, also to a client that writes it all first.

httpx reads the answer while it is still writing; a plain client (``curl --data-binary``, many HTTP libraries)
writes the whole body and only then reads. If the server closes the connection with that body unread,
the kernel answers the remaining bytes with a reset and the client never sees the 413.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from accorria_agent.app import create_app
from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, harness, text_event

SIX_MB = 6 * 1024 * 1024


@asynccontextmanager
async def _listening(app: Any) -> AsyncIterator[int]:
    """Serve ``app`` with uvicorn on a socket bound here (no port race); yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield int(listener.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        listener.close()


def _write_all_then_read(port: int, head: bytes, body: bytes) -> bytes:
    """A blocking client that sends every byte before it reads anything."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
        client.sendall(head)
        client.sendall(body)
        client.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        return answer


async def test_a_six_megabyte_body_is_answered_413_to_every_client(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(DATABASE_URL=database_url)
    async with harness(settings, FakeGraph().transport) as h:
        async with _listening(create_app(h.runtime, manage_runtime=False)) as port:
            raw = json.dumps(delivery(text_event("b1", "x" * SIX_MB))).encode()
            signature = sign(raw, settings.facebook_app_secret.get_secret_value())
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
                answered = await client.post(
                    "/webhook", content=raw, headers={"X-Hub-Signature-256": signature}
                )
            assert answered.status_code == 413
            for declared in (True, False):
                length = f"Content-Length: {len(raw)}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
                head = (
                    f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"X-Hub-Signature-256: {signature}\r\n{length}\r\n"
                ).encode()
                body = raw if declared else b"%x\r\n%s\r\n0\r\n\r\n" % (len(raw), raw)
                answer = await asyncio.to_thread(_write_all_then_read, port, head, body)
                assert answer.startswith(b"HTTP/1.1 413"), (declared, answer[:200])
            small = json.dumps(delivery(text_event("b1", "hi"))).encode()
            small_signature = sign(small, settings.facebook_app_secret.get_secret_value())
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
                ok = await client.post(
                    "/webhook", content=small, headers={"X-Hub-Signature-256": small_signature}
                )
            assert ok.status_code == 200
