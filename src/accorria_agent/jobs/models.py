"""The embedded queue's table: jobs live in the same database as the data they are about.

That is what makes "store the events and defer the job" one atomic transaction, and what lets jobs that
were due when the process stopped run when it starts again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow


class Job(Base):
    """A deferred call of a named task with JSON arguments."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_scheduled", "status", "scheduled_at"),
        Index("ix_jobs_queueing_lock", "queueing_lock", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    # Jobs sharing a lock run one at a time, in id order (per-conversation order).
    lock: Mapped[str | None] = mapped_column(String(200))
    # At most one *waiting* job per queueing lock: a burst of events coalesces into one job.
    queueing_lock: Mapped[str | None] = mapped_column(String(200))
    # todo | doing | succeeded | failed
    status: Mapped[str] = mapped_column(String(16), default="todo")
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
