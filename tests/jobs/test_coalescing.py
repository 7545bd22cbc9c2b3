"""The one coalescing rule every queue adapter uses (jobs/coalescing.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.jobs.coalescing import queueing_locks, to_add
from accorria_agent.jobs.interface import JobRequest

keys = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
requests = st.lists(
    st.builds(JobRequest, task=st.just("t"), args=st.just({}), queueing_lock=keys), max_size=20
)


@given(requests, st.sets(st.sampled_from(["a", "b", "c", "d"])))
def test_one_job_per_key_none_for_a_waiting_key_all_without_key(
    batch: list[JobRequest], waiting: set[str]
) -> None:
    added = to_add(batch, waiting)
    added_keys = [r.queueing_lock for r in added if r.queueing_lock]
    assert len(added_keys) == len(set(added_keys))  # at most one per key
    assert not set(added_keys) & waiting  # none for a key whose job already waits
    assert set(added_keys) == {r.queueing_lock for r in batch if r.queueing_lock} - waiting
    assert [r for r in added if not r.queueing_lock] == [r for r in batch if not r.queueing_lock]
    # The first request of each key wins, and the order of the batch is kept.
    positions = [next(i for i, r in enumerate(batch) if r is a) for a in added]
    assert positions == sorted(positions)
    for request in added:
        if request.queueing_lock:
            first = next(r for r in batch if r.queueing_lock == request.queueing_lock)
            assert first is request


def test_queueing_locks_are_distinct_and_sorted() -> None:
    batch = [JobRequest(task="t", args={}, queueing_lock=k) for k in ("b", None, "a", "b")]
    assert queueing_locks(batch) == ["a", "b"]
