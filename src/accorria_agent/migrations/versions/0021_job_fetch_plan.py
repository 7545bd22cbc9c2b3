"""The job queue's fetch keeps its index plan while a burst of jobs is younger than the table's statistics

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 19:40:00

procrastinate picks the next job with ``ORDER BY priority DESC, id LIMIT 1`` over the ``todo`` jobs, each
checked against the other jobs of its lock. Until autovacuum has analysed the table (up to a minute after a
burst), the planner believes the queue is nearly empty and sorts *every* waiting job, probing each one's
lock, on every fetch: 243 ms of database CPU per fetch with 3,000 waiting jobs, quadratic in the backlog
(measured; 0.25 ms with the index plan). With sorting off for that one function, the planner walks the
priority index and stops at the first job it can take, whatever the statistics say.
"""

from collections.abc import Sequence

from alembic import op

from accorria_agent.jobs.procrastinate_schema import FETCH_PLAN_RESET_SQL, FETCH_PLAN_SQL

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FETCH_PLAN_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FETCH_PLAN_RESET_SQL)
