"""The small server-rendered pages of the connect flow (messages and the Page choice), all escaped."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

from accorria_agent.pages.schemas import AvailablePages, ConnectOutcome

#: Nothing but our inline style; forms post only to us; never framed (clickjacking the choice).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "a.button,button{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;border:0;"
    "background:#1877f2;color:#fff;text-decoration:none;font-size:1rem;cursor:pointer}"
    "label{display:block;padding:.4rem 0}.note{color:#555}"
)


def _page(title: str, body: str, status: int) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def message_page(
    title: str, message: str, *, link: str | None = None, link_text: str = "", status: int = 200
) -> HTMLResponse:
    """A title, a sentence and an optional button (a link)."""
    body = f"<p id=message>{escape(message)}</p>"
    if link:
        body += f"<p><a class=button id=retry href='{escape(link, quote=True)}'>{escape(link_text)}</a></p>"
    return _page(title, body, status)


def choice_page(
    available: AvailablePages, form_token: str, action: str, csrf_token: str = ""
) -> HTMLResponse:
    """Checkboxes of the granted Pages; Pages of another account are shown but cannot be chosen."""
    rows = []
    for page in available.pages:
        disabled = page.connected == "another_account"
        note = {
            "this_account": " (already connected here: reconnecting refreshes it)",
            "another_account": " (connected to another account: cannot be connected)",
        }.get(page.connected or "", "")
        rows.append(
            "<label><input type=checkbox name=page_id "
            f"value='{escape(page.page_id, quote=True)}'{' disabled' if disabled else ' checked'}> "
            f"{escape(page.name)} <span class=note>{escape(note)}</span></label>"
        )
    body = (
        "<p>Choose the Pages the assistant should answer buyers on.</p>"
        f"<form method=post action='{escape(action, quote=True)}'>"
        f"<input type=hidden name=grant_id value='{available.grant_id}'>"
        f"<input type=hidden name=form_token value='{escape(form_token, quote=True)}'>"
        # The session's double-submit token: a browser's plain form post carries it like a header would.
        f"<input type=hidden name=csrf_token value='{escape(csrf_token, quote=True)}'>"
        + "".join(rows)
        + "<p><button type=submit id=connect>Connect</button></p></form>"
    )
    return _page("Connect your Facebook Pages", body, 200)


def outcome_page(outcomes: list[ConnectOutcome]) -> HTMLResponse:
    """What happened to each chosen Page."""
    items = "".join(
        f"<li data-page='{escape(o.page_id, quote=True)}' data-result='{escape(o.result, quote=True)}'>"
        f"{escape(o.name or o.page_id)}: {escape(o.result)}"
        f"{(' — ' + escape(o.detail)) if o.detail else ''}</li>"
        for o in outcomes
    )
    return _page(
        "Facebook Pages",
        f"<ul id=outcomes>{items}</ul><p><a href='/dashboard'>Back to the dashboard</a></p>",
        200,
    )
