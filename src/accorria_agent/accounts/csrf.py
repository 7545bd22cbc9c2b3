"""CSRF defence for cookie sessions: a double-submit token and an Origin/Referer check.

The ``accorria_csrf`` cookie is readable by the page's own script (not HttpOnly); every state-changing
request authenticated by the session cookie must repeat it in the ``X-CSRF-Token`` header (or the form
field ``csrf_token``). Another site can make the browser *send* our cookies but cannot *read* them, so
it cannot repeat the value. The comparison is constant-time. When the browser says where the request
comes from (``Origin``, else ``Referer``), it must be this site.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import Request

from accorria_agent.accounts.secrets import same
from accorria_agent.errors import Forbidden
from accorria_agent.settings import Settings

CSRF_COOKIE = "accorria_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024


def _netloc(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def check_origin(request: Request, settings: Settings) -> None:
    """403 when ``Origin`` (or, without it, ``Referer``) names another site than this one."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source == "null":
        # Browsers send "Origin: null" for a form posted from a no-referrer page: it names no site, so
        # it is treated as absent and the CSRF token decides.
        source = request.headers.get("referer")
    if not source:
        return  # not a browser, or one that says nothing: the CSRF token still decides
    netloc = _netloc(source)
    allowed = {request.headers.get("host", "").lower(), _netloc(settings.public_base_url) or ""}
    if netloc is None or netloc not in allowed - {""}:
        raise Forbidden("cross-site request refused", code="csrf_origin")


async def _form_field(request: Request) -> str:
    """``csrf_token`` of a url-encoded form body (Starlette caches the body: the route reads it again)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return ""
    try:
        values = parse_qs(body.decode("latin-1"), max_num_fields=100).get(CSRF_FORM_FIELD, [])
    except ValueError:  # too many fields
        return ""
    return values[0] if len(values) == 1 else ""


async def check_csrf(request: Request, settings: Settings) -> None:
    """For an unsafe method: 403 unless the request repeats the CSRF cookie and comes from this site."""
    if request.method not in UNSAFE_METHODS:
        return
    check_origin(request, settings)
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(_FORM_TYPE):
        sent = await _form_field(request)
    if not expected or not sent or not same(expected, sent):
        raise Forbidden(
            "missing or wrong CSRF token (send the accorria_csrf cookie's value as X-CSRF-Token)", code="csrf"
        )
