"""The one coalescing rule of the job layer, shared by every queue adapter and the intake fast paths.

A request with a ``queueing_lock`` is not added when a ``todo`` job with the same lock is already waiting
(the waiting job will see whatever the new request was for), nor twice within one batch. Each adapter
supplies the waiting locks from its own table (and keeps those jobs from starting until its commit:
``FOR SHARE`` on PostgreSQL, the single writer on SQLite); this module decides which requests become rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from accorria_agent.jobs.interface import JobRequest


def queueing_locks(requests: Iterable[JobRequest]) -> list[str]:
    """The distinct queueing locks of ``requests``, sorted (the keys to look up, in lock order)."""
    return sorted({request.queueing_lock for request in requests if request.queueing_lock})


def to_add(requests: Iterable[JobRequest], waiting: Iterable[str] = ()) -> list[JobRequest]:
    """The requests that become jobs, in order: the first of each queueing lock that is not waiting."""
    taken = set(waiting)
    added: list[JobRequest] = []
    for request in requests:
        if request.queueing_lock:
            if request.queueing_lock in taken:
                continue
            taken.add(request.queueing_lock)
        added.append(request)
    return added
