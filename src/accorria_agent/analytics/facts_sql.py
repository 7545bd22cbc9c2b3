"""The SQL that keeps ``conversation_facts`` true: triggers (both dialects) and the full recount.

Why triggers rather than calls from each writer: messages are written by the conversations job, the
send path (ORM attribute changes *and* Core ``UPDATE … RETURNING``), echoes, retries, the dashboard and
the bench's bulk seeds; a trigger sees all of them, in the writer's own transaction, and none of those
domains has to import analytics (which would be an import cycle). Each trigger touches one facts row by
its primary key and recomputes the part it owns from that conversation's rows (index probes on
``conversation_id``), so a write costs one small ``UPDATE`` and the row never drifts from a recount.

Migration ``0018`` installs these statements; ``accorria-agent analytics rebuild`` runs ``RECOUNT``.
A change here needs a new migration that runs ``drop_statements`` then ``install_statements``.
"""

from __future__ import annotations

# Statuses of an outbound message Meta accepted (a "reply" for the first-response time).
REPLY_STATUSES = "('sent', 'delivered', 'read')"
# Statuses that change a facts row when a message enters or leaves them.
COUNTED_STATUSES = "('sent', 'delivered', 'read', 'refused')"
FUNNEL_KINDS = ("offer_made", "price_agreed", "test_drive_booked", "escrow_started", "sold")
CAUSES = ("buyer_asked", "scam", "seller_stepped_in", "other")


def _first_buyer(cid: str) -> str:
    return (
        "(SELECT min(b.sent_at) FROM messenger_messages b"
        f" WHERE b.conversation_id = {cid} AND b.direction = 'inbound' AND b.author = 'buyer')"
    )


def _seconds(dialect: str, later: str, earlier: str) -> str:
    """Seconds from ``earlier`` to ``later`` (SQLite keeps ISO text, which julianday() reads, in days)."""
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM {later} - {earlier})"
    return f"(julianday({later}) - julianday({earlier})) * 86400.0"


def _message_set(cid: str, dialect: str) -> str:
    """First buyer message, first accepted reply at or after it, the seconds between, refused sends."""
    first_reply = (
        "(SELECT min(r.sent_at) FROM messenger_messages r"
        f" WHERE r.conversation_id = {cid} AND r.direction = 'outbound' AND r.author IN ('bot', 'seller')"
        f" AND r.status IN {REPLY_STATUSES} AND r.sent_at >= fb.fi)"
    )
    refused = (
        "(SELECT count(*) FROM messenger_messages f"
        f" WHERE f.conversation_id = {cid} AND f.direction = 'outbound' AND f.status = 'refused')"
    )
    return (
        "(first_buyer_message_at, first_reply_at, response_seconds, policy_refusals) ="
        f" (SELECT s.fi, s.fr, {_seconds(dialect, 's.fr', 's.fi')}, s.refused FROM"
        f" (SELECT fb.fi AS fi, {first_reply} AS fr, {refused} AS refused"
        f" FROM (SELECT {_first_buyer(cid)} AS fi) AS fb) AS s)"
    )


def _deal_set(cid: str, real: str) -> str:
    """Agreed deals of conversation ``cid`` (positive asking price) and their sum of agreed ÷ asking."""
    asking = f"CAST(COALESCE(d.asking_price, l.asking_price) AS {real})"
    scope = (
        "FROM deals d LEFT OUTER JOIN listings l ON l.id = d.listing_id"
        f" WHERE d.conversation_id = {cid} AND d.agreed_price IS NOT NULL AND {asking} > 0"
    )
    return (
        f"agreed_deals = (SELECT count(*) {scope}), "
        f"agreed_to_asking_sum = COALESCE((SELECT sum(CAST(d.agreed_price AS {real}) / {asking}) {scope}), 0)"
    )


def _event_set() -> str:
    return ", ".join(f"{kind} = ({kind} OR NEW.kind = '{kind}')" for kind in FUNNEL_KINDS)


def _mode_set(true: str) -> str:
    causes = ", ".join(f"takeover_{cause} = (takeover_{cause} OR NEW.cause = '{cause}')" for cause in CAUSES)
    return f"taken_over = {true}, {causes}"


def _words(dialect: str) -> tuple[str, str, str]:
    """The dialect's null-safe "differs", its double type and its true."""
    if dialect == "postgresql":
        return "IS DISTINCT FROM", "double precision", "TRUE"
    return "IS NOT", "REAL", "1"


_CONVERSATION_INSERT = (
    "INSERT INTO conversation_facts (conversation_id, tenant_id, listing_id, started_at)"
    " VALUES (NEW.id, NEW.tenant_id, NEW.listing_id, NEW.created_at)"
)
_CONVERSATION_UPDATE = (
    "UPDATE conversation_facts SET tenant_id = NEW.tenant_id, listing_id = NEW.listing_id,"
    " started_at = NEW.created_at WHERE conversation_id = NEW.id"
)


def _triggers(dialect: str) -> list[tuple[str, str, str, str]]:
    """(name, timing and table, WHEN condition, body statement) of every trigger."""
    distinct, real, true = _words(dialect)
    counted_changed = (
        f"((OLD.status IN {COUNTED_STATUSES}) <> (NEW.status IN {COUNTED_STATUSES})"
        f" OR (OLD.status = 'refused') <> (NEW.status = 'refused')"
        f" OR (NEW.status IN {COUNTED_STATUSES} AND OLD.sent_at {distinct} NEW.sent_at)"
        f" OR (NEW.direction = 'inbound' AND OLD.sent_at {distinct} NEW.sent_at))"
    )
    message_body = f"UPDATE conversation_facts SET {_message_set('NEW.conversation_id', dialect)}" + (
        " WHERE conversation_id = NEW.conversation_id"
    )
    deal_body = f"UPDATE conversation_facts SET {_deal_set('NEW.conversation_id', real)}" + (
        " WHERE conversation_id = NEW.conversation_id"
    )
    kinds = ", ".join(f"'{kind}'" for kind in FUNNEL_KINDS)
    return [
        ("facts_conversation_insert", "AFTER INSERT ON messenger_conversations", "", _CONVERSATION_INSERT),
        (
            "facts_conversation_update",
            "AFTER UPDATE OF tenant_id, listing_id, created_at ON messenger_conversations",
            f"OLD.tenant_id {distinct} NEW.tenant_id OR OLD.listing_id {distinct} NEW.listing_id"
            f" OR OLD.created_at {distinct} NEW.created_at",
            _CONVERSATION_UPDATE,
        ),
        (
            "facts_message_insert",
            "AFTER INSERT ON messenger_messages",
            f"(NEW.direction = 'inbound' AND NEW.author = 'buyer') OR NEW.status IN {COUNTED_STATUSES}",
            message_body,
        ),
        (
            "facts_message_update",
            "AFTER UPDATE OF status, sent_at ON messenger_messages",
            counted_changed,
            message_body,
        ),
        ("facts_deal_insert", "AFTER INSERT ON deals", "NEW.agreed_price IS NOT NULL", deal_body),
        (
            "facts_deal_update",
            "AFTER UPDATE OF agreed_price, asking_price, listing_id ON deals",
            f"OLD.agreed_price {distinct} NEW.agreed_price OR OLD.asking_price {distinct} NEW.asking_price"
            f" OR OLD.listing_id {distinct} NEW.listing_id",
            deal_body,
        ),
        (
            "facts_deal_event_insert",
            "AFTER INSERT ON deal_events",
            f"NEW.kind IN ({kinds})",
            f"UPDATE conversation_facts SET {_event_set()} WHERE conversation_id = NEW.conversation_id",
        ),
        (
            "facts_mode_change_insert",
            "AFTER INSERT ON conversation_mode_changes",
            "NEW.to_mode <> 'bot'",
            f"UPDATE conversation_facts SET {_mode_set(true)} WHERE conversation_id = NEW.conversation_id",
        ),
    ]


def install_statements(dialect: str) -> list[str]:
    """``CREATE`` statements of every trigger (and, on PostgreSQL, its function)."""
    statements: list[str] = []
    if dialect == "postgresql":
        for name, on, when, body in _triggers(dialect):
            statements.append(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
                f" BEGIN {body}; RETURN NULL; END $$"
            )
            condition = f" WHEN ({when})" if when else ""
            statements.append(f"CREATE TRIGGER {name} {on} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()")
        return statements
    for name, on, when, body in _triggers(dialect):
        condition = f" WHEN {when}" if when else ""
        statements.append(f"CREATE TRIGGER {name} {on} FOR EACH ROW{condition} BEGIN {body}; END")
    return statements


def drop_statements(dialect: str) -> list[str]:
    """``DROP`` statements of every trigger (and function)."""
    statements: list[str] = []
    for name, on, _when, _body in _triggers(dialect):
        table = on.rsplit(" ", 1)[-1]
        if dialect == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            statements.append(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            statements.append(f"DROP TRIGGER IF EXISTS {name}")
    return statements


def recount_statements(dialect: str) -> list[str]:
    """Every facts row recomputed from the source tables (the migration's backfill, the rebuild)."""
    real = _words(dialect)[1]
    cid = "conversation_facts.conversation_id"
    funnel = ", ".join(
        f"{kind} = EXISTS (SELECT 1 FROM deal_events e WHERE e.conversation_id = {cid} AND e.kind = '{kind}')"
        for kind in FUNNEL_KINDS
    )
    takeover = f"FROM conversation_mode_changes c WHERE c.conversation_id = {cid} AND c.to_mode <> 'bot'"
    causes = ", ".join(
        f"takeover_{cause} = EXISTS (SELECT 1 {takeover} AND c.cause = '{cause}')" for cause in CAUSES
    )
    return [
        "DELETE FROM conversation_facts",
        "INSERT INTO conversation_facts (conversation_id, tenant_id, listing_id, started_at)"
        " SELECT id, tenant_id, listing_id, created_at FROM messenger_conversations",
        f"UPDATE conversation_facts SET {_message_set(cid, dialect)}, {_deal_set(cid, real)}, {funnel},"
        f" taken_over = EXISTS (SELECT 1 {takeover}), {causes}",
    ]
