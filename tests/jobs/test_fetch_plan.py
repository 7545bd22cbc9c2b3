"""The job fetch stays cheap while a burst of jobs is younger than the table's statistics (migration 0021).

The plan procrastinate's fetch function runs is read from PostgreSQL itself (``auto_explain`` with nested
statements, its output sent to this client as notices): with the planner's view of a nearly empty queue, the
fetch must walk the priority index and stop at the first job, not sort every waiting job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from accorria_agent.jobs.procrastinate_schema import FETCH_PLAN_RESET_SQL, FETCH_PLAN_SQL
from tests.jobs.conftest import truncate_procrastinate

pytestmark = pytest.mark.postgres

BURST = 2000


@pytest.fixture
def burst_queue(procrastinate_database: str) -> Iterator[str]:
    """A queue that was empty when last analysed and now holds a burst of jobs, each with its own lock."""
    truncate_procrastinate(procrastinate_database)
    url = procrastinate_database.replace("postgresql+asyncpg://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE procrastinate_jobs")  # statistics of the empty queue
        connection.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args) "
            "SELECT 'accorria', 'process_conversation', 'conversation:' || g, '{}' "
            "FROM generate_series(1, %s) AS g",
            (BURST,),
        )
    yield url
    truncate_procrastinate(procrastinate_database)


def _fetch_plans(url: str) -> tuple[list[str], Any]:
    plans: list[str] = []
    with psycopg.connect(url, autocommit=True) as connection:
        connection.add_notice_handler(lambda notice: plans.append(str(notice.message_primary)))
        connection.execute("LOAD 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on", "log_analyze = on"):
            connection.execute(f"SET auto_explain.{setting}")
        connection.execute("SET client_min_messages = log")
        worker = connection.execute("SELECT procrastinate_register_worker_v1()").fetchone()
        assert worker is not None
        job = connection.execute(
            "SELECT id, lock FROM procrastinate_fetch_job_v2(ARRAY['accorria']::varchar[], %s)", (worker[0],)
        ).fetchone()
    return plans, job


def test_a_burst_younger_than_the_statistics_is_fetched_without_sorting_it(burst_queue: str) -> None:
    plans, job = _fetch_plans(burst_queue)
    assert job is not None and job[1] == "conversation:1"  # the oldest job first, as before
    candidate = [plan for plan in plans if "procrastinate_jobs_priority_idx_v1" in plan or "Sort" in plan]
    assert candidate, f"no plan of the fetch's candidate query was reported: {plans}"
    plan = candidate[0]
    assert "Sort" not in plan, plan
    assert "Index Scan using procrastinate_jobs_priority_idx_v1" in plan, plan
    # Stopped at the first job it could take: the other waiting jobs' locks were never probed.
    assert f"rows={BURST}" not in plan, plan


def test_the_setting_is_skipped_where_procrastinate_has_no_such_function(procrastinate_database: str) -> None:
    """A procrastinate release that replaces the function must not make a fresh install's migrations fail."""
    url = procrastinate_database.replace("postgresql+asyncpg://", "postgresql://", 1)
    with psycopg.connect(url) as connection:  # one transaction, rolled back at the end
        connection.execute(
            "ALTER FUNCTION procrastinate_fetch_job_v2(varchar[], bigint) RENAME TO replaced_v2"
        )
        connection.execute(FETCH_PLAN_SQL)  # no error: nothing to set
        connection.execute(FETCH_PLAN_RESET_SQL)
        connection.rollback()
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT proconfig FROM pg_proc WHERE proname = 'procrastinate_fetch_job_v2'"
        ).fetchone()
    assert row is not None and row[0] == ["enable_sort=off"]  # the real function, as the migration left it
