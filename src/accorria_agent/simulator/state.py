"""In-memory state of the Messenger simulator.

Everything the simulated Messenger knows lives here: the buyers and their threads
(every message both ways), the log of Send API requests the agent made, the log of
webhooks delivered to the agent, the simulated clock, fault-injection settings,
the Page's messenger_profile, app subscriptions and OAuth tokens minted by the fake
``oauth/access_token`` endpoint.

The state is mutated only from the event loop that serves the simulator, so no locks
are needed; it is deliberately plain data so the JSON API can expose it as is.
"""

from __future__ import annotations

import random
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from .config import SimulatorConfig

Sender = Literal["buyer", "page"]
Source = Literal["buyer", "bot", "inbox"]
FaultKind = Literal["5xx", "timeout", "613", "190"]
FAULT_KINDS: tuple[FaultKind, ...] = ("5xx", "timeout", "613", "190")

#: Length of the standard messaging window and of the HUMAN_AGENT tag window.
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)

#: Logs are bounded so a long demo cannot grow memory without limit.
MAX_LOG_ENTRIES = 10_000


def new_mid() -> str:
    """Return a message id shaped like current Messenger mids (``m_`` + url-safe text)."""
    return "m_" + secrets.token_urlsafe(33)


def iso(ms: int) -> str:
    """Epoch milliseconds → ISO-8601 UTC string."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ThreadMessage:
    """One message in a buyer thread, from either side."""

    mid: str
    sender: Sender
    source: Source
    timestamp_ms: int
    text: str | None = None
    #: ``message`` or ``postback`` (a button tap is shown in the thread too).
    kind: Literal["message", "postback"] = "message"
    quick_reply_payload: str | None = None
    quick_replies: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    postback: dict[str, Any] | None = None
    metadata: str | None = None
    reply_to: str | None = None
    sticker_id: int | None = None
    app_id: int | None = None
    reactions: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0
    delivered: bool = False
    read: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/threads``."""
        return {
            "mid": self.mid,
            "from": self.sender,
            "source": self.source,
            "kind": self.kind,
            "timestamp": self.timestamp_ms,
            "created_at": iso(self.timestamp_ms),
            "text": self.text,
            "quick_reply_payload": self.quick_reply_payload,
            "quick_replies": self.quick_replies,
            "attachments": self.attachments,
            "postback": self.postback,
            "metadata": self.metadata,
            "reply_to": self.reply_to,
            "sticker_id": self.sticker_id,
            "app_id": self.app_id,
            "reactions": self.reactions,
            "edits": self.edits,
            "delivered": self.delivered,
            "read": self.read,
        }


@dataclass
class BuyerThread:
    """A buyer (PSID) and the conversation between that buyer and the Page."""

    psid: str
    first_name: str
    last_name: str
    created_ms: int
    messages: list[ThreadMessage] = field(default_factory=list)
    #: Last buyer interaction that opens the messaging window (message, postback, referral…).
    last_interaction_ms: int | None = None
    #: App that owns the thread (handover protocol); ``None`` means our app.
    owner_app_id: int | None = None
    typing: bool = False
    seen_at_ms: int | None = None
    #: The Page this buyer writes to when one simulator stands in for many Pages (``None``: the
    #: configured Page).
    page_id: str | None = None

    @property
    def profile_pic(self) -> str:
        """A stable, Meta-looking (never fetched) profile picture URL."""
        return f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={self.psid}"

    def find(self, mid: str) -> ThreadMessage | None:
        """The message with id ``mid`` in this thread, if any."""
        return next((m for m in self.messages if m.mid == mid), None)

    def last_from(self, sender: Sender) -> ThreadMessage | None:
        """The newest message sent by ``sender``."""
        return next((m for m in reversed(self.messages) if m.sender == sender), None)

    def summary(self) -> dict[str, Any]:
        """Short JSON for thread lists."""
        last = self.messages[-1] if self.messages else None
        return {
            "psid": self.psid,
            "name": f"{self.first_name} {self.last_name}".strip(),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "message_count": len(self.messages),
            "last_message": last.to_json() if last else None,
            "last_interaction_at": iso(self.last_interaction_ms) if self.last_interaction_ms else None,
            "owner_app_id": self.owner_app_id,
        }

    def to_json(self) -> dict[str, Any]:
        """Full JSON for ``/api/threads/{psid}``."""
        data = self.summary()
        data.update(
            profile_pic=self.profile_pic,
            typing=self.typing,
            seen_at=iso(self.seen_at_ms) if self.seen_at_ms else None,
            messages=[m.to_json() for m in self.messages],
        )
        return data


@dataclass
class SentRequest:
    """One Send API request received from the agent, and what we answered."""

    id: int
    received_ms: int
    path: str
    recipient: str | None
    messaging_type: str | None
    tag: str | None
    message: Any
    sender_action: str | None
    metadata: str | None
    notification_type: str | None = None
    status: int = 0
    error: dict[str, Any] | None = None
    message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/sent``."""
        return {
            "id": self.id,
            "received_at": iso(self.received_ms),
            "path": self.path,
            "recipient": self.recipient,
            "messaging_type": self.messaging_type,
            "tag": self.tag,
            "message": self.message,
            "sender_action": self.sender_action,
            "metadata": self.metadata,
            "notification_type": self.notification_type,
            "status": self.status,
            "error": self.error,
            "message_id": self.message_id,
        }


@dataclass
class WebhookRecord:
    """One webhook POST made to the agent."""

    id: int
    kind: str
    psid: str | None
    sent_ms: int
    payload: dict[str, Any]
    status: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/webhooks``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "psid": self.psid,
            "sent_at": iso(self.sent_ms),
            "status": self.status,
            "error": self.error,
            "payload": self.payload,
        }


@dataclass
class FaultSettings:
    """Fault injection for the runtime Graph endpoints (deterministic given ``seed``)."""

    error_rate: float = 0.0
    kinds: tuple[FaultKind, ...] = ("5xx",)
    timeout_seconds: float = 30.0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random)
    injected: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/faults``."""
        return {
            "error_rate": self.error_rate,
            "kinds": list(self.kinds),
            "timeout_seconds": self.timeout_seconds,
            "seed": self.seed,
            "injected": self.injected,
        }

    def draw(self) -> FaultKind | None:
        """Decide whether the current request fails, and how (also used by the escrow stand-in)."""
        if self.error_rate <= 0 or not self.kinds:
            return None
        if self.rng.random() >= self.error_rate:
            return None
        self.injected += 1
        return self.rng.choice(self.kinds)


@dataclass
class IssuedToken:
    """A token minted by the fake OAuth endpoint (value kept only as the dict key).

    A USER token from the Login dialog carries the granted ``scopes`` and the chosen ``page_ids``; a
    PAGE token names its ``page_id`` (``None``: the configured Page).
    """

    kind: Literal["USER", "PAGE", "APP"]
    issued_ms: int
    expires_ms: int | None
    scopes: tuple[str, ...] | None = None
    page_ids: tuple[str, ...] = ()
    page_id: str | None = None
    requested: tuple[str, ...] = ()
    revoked: bool = False


@dataclass
class SimPage:
    """A Facebook Page of the simulated Facebook user: its own token, profile and app subscriptions."""

    page_id: str
    name: str
    messenger_profile: dict[str, Any] = field(default_factory=dict)
    #: app id → subscribed webhook fields.
    subscriptions: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/pages`` (never a token)."""
        return {"page_id": self.page_id, "name": self.name, "subscriptions": self.subscriptions}


@dataclass
class OAuthCode:
    """A Login-dialog ``code``: single-use, short-lived, bound to its ``redirect_uri``."""

    redirect_uri: str
    page_ids: tuple[str, ...]
    granted: tuple[str, ...]
    requested: tuple[str, ...]
    expires_ms: int
    used: bool = False


class SimulatorState:
    """All mutable simulator state plus the simulated clock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock_offset = timedelta()
        self.threads: dict[str, BuyerThread] = {}
        self.sent: deque[SentRequest] = deque(maxlen=MAX_LOG_ENTRIES)
        self.webhooks: deque[WebhookRecord] = deque(maxlen=MAX_LOG_ENTRIES)
        self.faults = FaultSettings()
        #: The simulated Facebook user's Pages; the configured Page is the first.
        self.pages: dict[str, SimPage] = {config.page_id: SimPage(config.page_id, config.page_name)}
        # The configured Page's profile and subscriptions, under their historical names.
        self.messenger_profile: dict[str, Any] = self.pages[config.page_id].messenger_profile
        self.subscriptions: dict[str, list[str]] = self.pages[config.page_id].subscriptions
        self.tokens: dict[str, IssuedToken] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.config_token_revoked = False
        self.handover_log: list[dict[str, Any]] = []
        self._seq = 0

    # --- clock -----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Simulated current time (real UTC time shifted by the clock offset)."""
        return datetime.now(UTC) + self.clock_offset

    def now_ms(self) -> int:
        """Simulated current time in epoch milliseconds (webhook timestamps)."""
        return int(self.now().timestamp() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the simulated clock forward."""
        self.clock_offset += timedelta(seconds=seconds)

    def clock_json(self) -> dict[str, Any]:
        """JSON shape used by ``/api/clock``."""
        ms = self.now_ms()
        return {"now": iso(ms), "now_ms": ms, "offset_seconds": self.clock_offset.total_seconds()}

    def next_id(self) -> int:
        """Monotonic id for log entries."""
        self._seq += 1
        return self._seq

    # --- buyers and threads ----------------------------------------------------------------------

    def thread(self, psid: str) -> BuyerThread | None:
        """The thread of a known buyer, else ``None`` (unknown PSID)."""
        return self.threads.get(psid)

    def ensure_buyer(self, psid: str, name: str | None = None) -> BuyerThread:
        """Return the buyer's thread, creating it (and renaming it when ``name`` is given)."""
        thread = self.threads.get(psid)
        if thread is None:
            first, last = split_name(name) if name else ("Buyer", psid[-4:])
            thread = BuyerThread(psid=psid, first_name=first, last_name=last, created_ms=self.now_ms())
            self.threads[psid] = thread
        elif name:
            thread.first_name, thread.last_name = split_name(name)
        return thread

    def window_age(self, thread: BuyerThread) -> timedelta | None:
        """Time since the buyer's last window-opening interaction (``None`` if never)."""
        if thread.last_interaction_ms is None:
            return None
        return timedelta(milliseconds=self.now_ms() - thread.last_interaction_ms)

    # --- faults ----------------------------------------------------------------------------------

    def set_faults(
        self, error_rate: float, kinds: tuple[FaultKind, ...], timeout_seconds: float, seed: int | None
    ) -> None:
        """Replace the fault settings; the RNG is re-seeded so runs are reproducible."""
        self.faults = FaultSettings(
            error_rate=error_rate,
            kinds=kinds,
            timeout_seconds=timeout_seconds,
            seed=seed,
            rng=random.Random(seed),
        )

    def clear_faults(self) -> None:
        """Disable fault injection."""
        self.faults = FaultSettings()

    def draw_fault(self) -> FaultKind | None:
        """Decide whether the current request fails, and how."""
        return self.faults.draw()

    # --- tokens ----------------------------------------------------------------------------------

    def token_kind(self, token: str) -> Literal["USER", "PAGE", "APP"] | None:
        """What a token is, if we know it and it has not expired (or been revoked)."""
        cfg = self.config
        if secrets.compare_digest(token, cfg.page_access_token):
            return None if self.config_token_revoked else "PAGE"
        if secrets.compare_digest(token, f"{cfg.app_id}|{cfg.app_secret}"):
            return "APP"
        issued = self.tokens.get(token)
        if issued is None or issued.revoked:
            return None
        if issued.expires_ms is not None and issued.expires_ms <= self.now_ms():
            return None
        return issued.kind

    def token_page(self, token: str) -> str | None:
        """The Page a valid Page token acts for (``None`` for any other token)."""
        if self.token_kind(token) != "PAGE":
            return None
        issued = self.tokens.get(token)
        return issued.page_id if issued is not None and issued.page_id else self.config.page_id

    def page(self, page_id: str) -> SimPage:
        """A known Page (callers checked the id)."""
        return self.pages[page_id]

    def add_page(self, name: str, page_id: str | None = None) -> SimPage:
        """Give the simulated Facebook user another Page (ids are 15 digits, like Meta's)."""
        if page_id is None:
            page_id = str(100_000_000_000_000 + secrets.randbelow(899_999_999_999_999))
        page = self.pages.get(page_id)
        if page is None:
            page = self.pages[page_id] = SimPage(page_id, name)
        return page

    def revoke_page_tokens(self, page_id: str) -> int:
        """Invalidate every token of a Page (as a password change or removed app does); returns how many."""
        count = 0
        for issued in self.tokens.values():
            if (
                issued.kind == "PAGE"
                and (issued.page_id or self.config.page_id) == page_id
                and not issued.revoked
            ):
                issued.revoked = True
                count += 1
        if page_id == self.config.page_id:
            self.config_token_revoked = True
            count += 1
        return count

    # --- reset -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget buyers, threads and logs; keep clock, faults, profile, subscriptions, tokens."""
        self.threads.clear()
        self.sent.clear()
        self.webhooks.clear()
        self.handover_log.clear()


def split_name(name: str) -> tuple[str, str]:
    """Split a display name into (first_name, last_name) like Messenger profiles."""
    parts = name.strip().split(None, 1)
    if not parts:
        return "Buyer", ""
    return parts[0], parts[1] if len(parts) > 1 else ""
