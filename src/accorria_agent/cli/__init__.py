"""The ``accorria-agent`` command: serve, worker, demo, migrate, sending, privacy, rotate-keys, bench …"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from accorria_agent import __version__

if TYPE_CHECKING:
    from accorria_agent.runtime import Runtime

app = typer.Typer(
    name="accorria-agent",
    help="Accorria Messenger Agent: sells cars over Facebook Messenger inside the seller's rules.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(
    help="Benchmarks: each compares against a baseline measured in the same run.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
sending_app = typer.Typer(
    help="Stop and resume sending: the global kill switch, or one Page (--page). Every process obeys.",
    no_args_is_help=True,
)
app.add_typer(sending_app, name="sending")
jobs_app = typer.Typer(
    help="Events the conversation job set aside (poison input): list and retry.", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")
privacy_app = typer.Typer(
    help="Privacy: erase a buyer's data, purge what is older than RETENTION_DAYS.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")
analytics_app = typer.Typer(help="Analytics: recount the per-conversation facts.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def migrate(
    database_url: Annotated[Optional[str], typer.Option(help="Overrides DATABASE_URL.")] = None,  # noqa: UP045
) -> None:
    """Apply database migrations (SQLite under the data directory, or DATABASE_URL)."""
    from accorria_agent.db.migrate import upgrade
    from accorria_agent.settings import Settings, normalise_database_url

    settings = Settings()
    url = normalise_database_url(database_url) if database_url else settings.effective_database_url
    upgrade(url)
    typer.echo("migrations applied")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8000,
    with_jobs: Annotated[
        bool,
        typer.Option(help="Also run jobs, in a child process started and stopped with this one (one node)."),
    ] = True,
) -> None:
    """Run the production web process (webhook, health, metrics). Refuses unsafe settings."""
    from accorria_agent.preflight import startup_problem
    from accorria_agent.settings import Settings

    settings = Settings(ACCORRIA_ENV="production")
    problem = startup_problem(settings)
    if problem:
        _fail(problem)
    import uvicorn

    from accorria_agent.app import create_app
    from accorria_agent.logging_setup import configure_logging, settings_secrets
    from accorria_agent.runtime import build_runtime

    configure_logging(settings.log_level, secrets=settings_secrets(settings))
    # With jobs: in a child process started and stopped with this one (the webhook's loop stays free).
    runtime = build_runtime(settings, run_jobs=False, jobs_in_child=with_jobs)
    on_started = None
    if with_jobs:
        from accorria_agent.privacy.tasks import schedule_purge

        async def on_started(started: Runtime) -> None:
            await schedule_purge(started.session_factory, started.queue)

    app_ = create_app(runtime, on_started=on_started, tune_gc=True)
    uvicorn.run(app_, host=host, port=port, log_level=settings.log_level.lower())


@app.command()
def worker(
    until_idle: Annotated[
        bool, typer.Option(help="Exit once no job is due (batch / benchmark use).")
    ] = False,
    metrics_port: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            min=0, max=65535, help="Serve /metrics on this port (default: WORKER_METRICS_PORT, off)."
        ),
    ] = None,
) -> None:
    """Run conversation jobs (no web server). Stops gracefully on SIGTERM."""
    from accorria_agent.logging_setup import configure_logging, settings_secrets
    from accorria_agent.settings import Settings
    from accorria_agent.worker import run

    settings = Settings()
    # Like `serve`: unsafe settings are refused unless ACCORRIA_ENV=development is said explicitly (a
    # worker holds the Page tokens and sends as much as the web process does).
    if settings.accorria_env != "development" or "accorria_env" not in settings.model_fields_set:
        from accorria_agent.preflight import startup_problem

        problem = startup_problem(settings)
        if problem:
            _fail(problem)
    configure_logging(settings.log_level, secrets=settings_secrets(settings))
    if metrics_port is not None:
        settings = settings.model_copy(update={"worker_metrics_port": metrics_port})
    run(settings, stop_after_idle=until_idle)


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1.")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite database lives.")] = Path("./data"),
    listing: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="JSON or YAML file with the listing and the seller's settings."),
    ] = None,
    fast: Annotated[bool, typer.Option(help="Turn human-like delays off.")] = False,
    database_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Run on this database (e.g. postgresql://…) instead of SQLite under --data-dir."),
    ] = None,
) -> None:
    """Run agent + Messenger simulator in one process (SQLite, or --database-url): no keys, no servers."""
    from accorria_agent.demo import DemoError, run_demo

    try:
        run_demo(port=port, data_dir=data_dir, listing_file=listing, fast=fast, database_url=database_url)
    except DemoError as error:
        _fail(str(error))


@app.command()
def parse(
    text: Annotated[
        str | None, typer.Argument(help="A buyer message; omit to read JSON lines from stdin.")
    ] = None,  # noqa: UP045
    asking_price: Annotated[Optional[float], typer.Option(help="The listing's asking price.")] = None,  # noqa: UP045
) -> None:
    """Understand buyer messages: one JSON object (TEXT) or one JSON line per input line (stdin)."""
    from accorria_agent.cli.parse import parse_lines, parse_one

    if text is not None:
        typer.echo(json.dumps(parse_one(text, asking_price)))
        return
    for line in parse_lines(sys.stdin):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


PageOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--page", help="One Page's id; without it, the global kill switch."),
]


@app.command("rotate-keys")
def rotate_keys_command(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 200,
    database_url: Annotated[Optional[str], typer.Option(help="Overrides DATABASE_URL.")] = None,  # noqa: UP045
) -> None:
    """Re-encrypt every stored secret with the newest ENCRYPTION_KEY (first of the list). Resumable."""
    import asyncio

    from accorria_agent.pages.rotate_cli import run_rotation
    from accorria_agent.settings import Settings, normalise_database_url

    settings = Settings()
    url = normalise_database_url(database_url) if database_url else settings.effective_database_url
    code = asyncio.run(run_rotation(settings, url, batch_size))
    if code:
        raise typer.Exit(code)


@sending_app.command("status")
def sending_status() -> None:
    """Show the kill switch, the Pages that are not sending, and how many replies are held."""
    from accorria_agent.cli.sending import SendingCommandError, show_status

    try:
        show_status()
    except SendingCommandError as error:
        _fail(str(error))


@sending_app.command("halt")
def sending_halt(
    page: PageOption = None,
    reason: Annotated[str, typer.Option(help="Why (shown to operators and, for a Page, its seller).")] = "",
) -> None:
    """Stop all sending at once (or one Page's). Messages keep being stored; replies are held."""
    from accorria_agent.cli.sending import SendingCommandError, halt

    try:
        halt(page, reason)
    except SendingCommandError as error:
        _fail(str(error))


@sending_app.command("resume")
def sending_resume(
    page: PageOption = None,
    discard_held: Annotated[
        bool, typer.Option(help="Drop the replies held during the stop instead of sending them.")
    ] = False,
) -> None:
    """Resume sending (or one Page's) and release the held replies (re-checked before each send)."""
    from accorria_agent.cli.sending import SendingCommandError, resume

    try:
        resume(page, discard_held=discard_held)
    except SendingCommandError as error:
        _fail(str(error))


@jobs_app.command("failed")
def jobs_failed(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many, oldest first.")] = 100,
) -> None:
    """List the events whose handling failed and was set aside (not retried yet)."""
    from accorria_agent.cli.jobs import show_failed
    from accorria_agent.cli.sending import SendingCommandError

    try:
        show_failed(limit)
    except SendingCommandError as error:
        _fail(str(error))


@jobs_app.command("retry")
def jobs_retry(
    set_aside_id: Annotated[int, typer.Argument(metavar="ID", help="The id `jobs failed` shows.")],
) -> None:
    """Hand a set-aside event back to its conversation's job."""
    from accorria_agent.cli.jobs import retry
    from accorria_agent.cli.sending import SendingCommandError
    from accorria_agent.errors import Conflict, NotFound

    try:
        retry(set_aside_id)
    except (SendingCommandError, NotFound, Conflict) as error:
        _fail(str(error))


@privacy_app.command("delete-buyer")
def privacy_delete_buyer(
    page: Annotated[str, typer.Option("--page", help="The Page's id.")],
    psid: Annotated[str, typer.Option("--psid", help="The buyer's page-scoped id on that Page.")],
) -> None:
    """Erase a buyer: message texts, payloads, name, PSID and raw events; counts stay. Prints the record."""
    from accorria_agent.privacy.commands import PrivacyCommandError, delete_buyer
    from accorria_agent.settings import Settings

    try:
        typer.echo(delete_buyer(Settings(), page, psid))
    except PrivacyCommandError as error:
        _fail(str(error))


@privacy_app.command("purge")
def privacy_purge(
    days: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(min=1, help="Purge what is older than this many days (default RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Purge buyer message text and raw webhook payloads past the retention period (rows and counts stay)."""
    from accorria_agent.privacy.commands import PrivacyCommandError, purge
    from accorria_agent.settings import Settings

    try:
        typer.echo(purge(Settings(), days))
    except PrivacyCommandError as error:
        _fail(str(error))


@analytics_app.command("rebuild")
def analytics_rebuild(
    database_url: Annotated[Optional[str], typer.Option(help="Overrides DATABASE_URL.")] = None,  # noqa: UP045
) -> None:
    """Recount every conversation's analytics facts from its messages, deals and mode changes."""
    from accorria_agent.analytics.commands import rebuild
    from accorria_agent.settings import Settings, normalise_database_url

    url = normalise_database_url(database_url) if database_url else Settings().effective_database_url
    typer.echo(rebuild(url))


@bench_app.command("webhook")
def bench_webhook(
    requests: Annotated[int, typer.Option(min=100, help="Requests per measurement.")] = 4000,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients.")] = 32,
    database_url: Annotated[
        str | None, typer.Option(help="Measure against this database instead of SQLite.")
    ] = None,  # noqa: UP045
    rate: Annotated[
        float | None,
        typer.Option(min=1, help="Open-loop request rate (default: half the bare endpoint's throughput)."),
    ] = None,  # noqa: UP045
) -> None:
    """Webhook ingest vs a bare signature-checking endpoint: throughput, latency, ratio."""
    from accorria_agent.bench.webhook import run

    run(requests=requests, concurrency=concurrency, database_url=database_url, rate=rate)


@bench_app.command("e2e")
def bench_e2e(
    rate: Annotated[float, typer.Option(min=1, max=5000, help="Buyer messages per second.")] = 200.0,
    seconds: Annotated[float, typer.Option(min=1, max=120, help="How long to send.")] = 10.0,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL (web + one worker) instead of SQLite.")
    ] = None,
) -> None:
    """Webhook to Send API latency at a fixed message rate, beside the webhook's own answer latency."""
    from accorria_agent.bench.pipeline import run_e2e

    run_e2e(rate=rate, seconds=seconds, database_url=database_url)


@bench_app.command("burst")
def bench_burst(
    buyers: Annotated[int, typer.Option(min=1, max=10_000, help="Buyers, one message each.")] = 100,
    seconds: Annotated[float, typer.Option(min=1, max=600, help="Spread over this many seconds.")] = 60.0,
    flood: Annotated[int, typer.Option(min=0, max=1000, help="Messages of one flooding buyer.")] = 50,
    conservative: Annotated[
        bool, typer.Option(help="Run the Page on the seed's 20/min, 200/h, 1,000/day limits.")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL (web + one worker; its schema is reset) instead of SQLite.")
    ] = None,
) -> None:
    """Many buyers write to one Page within a minute: message → reply p50/p95/max, and one buyer's flood."""
    from accorria_agent.bench.burst import run_burst

    run_burst(
        buyers=buyers, seconds=seconds, flood=flood, database_url=database_url, conservative=conservative
    )


@bench_app.command("workers")
def bench_workers(
    database_url: Annotated[str, typer.Option(help="PostgreSQL database for the run (its schema is reset).")],
    messages: Annotated[int, typer.Option(min=100, help="Backlog size.")] = 2000,
    returning: Annotated[
        bool, typer.Option(help="The backlog written by buyers answered once already (their 2nd message).")
    ] = False,
) -> None:
    """Throughput of two workers against one on the same backlog (PostgreSQL)."""
    from accorria_agent.bench.pipeline import run_workers

    run_workers(database_url=database_url, messages=messages, returning=returning)


@bench_app.command("scale")
def bench_scale(
    tenants: Annotated[int, typer.Option(min=1, help="Tenants (Pages) in the large store.")] = 10_000,
    conversations: Annotated[int, typer.Option(min=0, help="Conversations in the large store.")] = 100_000,
    rate: Annotated[float, typer.Option(min=1, max=1000, help="Buyer messages per second.")] = 20.0,
    seconds: Annotated[float, typer.Option(min=1, max=120, help="How long to send.")] = 15.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL (web + one worker per store) instead of SQLite; its schema is reset and the "
            "small store goes to a sibling database <name>_small, dropped at the end."
        ),
    ] = None,
) -> None:
    """Latency and memory with a large store (10,000 tenants, 100,000 conversations) vs a small one."""
    if database_url and not database_url.startswith(("postgresql", "postgres://")):
        _fail("--database-url must be a PostgreSQL URL (SQLite is the default)")
    from accorria_agent.bench.scale import run_scale

    run_scale(
        tenants=tenants, conversations=conversations, rate=rate, seconds=seconds, database_url=database_url
    )


@bench_app.command("negotiate")
def bench_negotiate(
    buyers: Annotated[int, typer.Option(min=1, help="Simulated buyers.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    craigslist: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="CraigslistBargain JSONL for the calibrated persona set."),
    ] = None,
) -> None:
    """Simulated buyers against the negotiation engine: safety, deal rate, price kept, speed."""
    from accorria_agent.bench.negotiate import run

    result = run(buyers=buyers, seed=seed, craigslist=craigslist)
    if result.get("floor_violations", 0):
        raise typer.Exit(1)


# The benchmarks that seed a scratch database of their own next to the one named.
ScratchPostgresUrl = Annotated[
    str, typer.Option(help="A PostgreSQL server's database URL; a scratch database next to it is used.")
]
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@bench_app.command("analytics")
def bench_analytics(
    database_url: ScratchPostgresUrl = DEFAULT_POSTGRES_URL,
    conversations: Annotated[int, typer.Option(min=100, help="The large seller's conversations.")] = 100_000,
    runs: Annotated[int, typer.Option(min=3, help="Timed reports per seller.")] = 20,
) -> None:
    """The analytics report for a seller with 100,000 conversations vs one with 1 % of that."""
    if not database_url.startswith(("postgresql", "postgres://")):
        _fail("--database-url must be a PostgreSQL URL")
    from accorria_agent.bench.analytics import GOAL_MS, run_analytics

    figures = run_analytics(database_url, conversations, runs)
    if figures["large_p95_ms"] >= GOAL_MS:
        raise typer.Exit(1)


@bench_app.command("dashboard")
def bench_dashboard(
    database_url: ScratchPostgresUrl = DEFAULT_POSTGRES_URL,
    conversations: Annotated[int, typer.Option(min=100, help="The large seller's conversations.")] = 10_000,
    thread: Annotated[int, typer.Option(min=10, help="Messages in the large seller's long thread.")] = 500,
    dashboards: Annotated[int, typer.Option(min=1, help="Open dashboards (SSE) hearing each message.")] = 100,
    rounds: Annotated[int, typer.Option(min=1, help="Buyer messages posted while they listen.")] = 10,
    runs: Annotated[int, typer.Option(min=3, help="Timed requests per kind and seller.")] = 30,
) -> None:
    """Inbox first page, a 500-message thread and 100 live dashboards with 10,000 conversations stored."""
    if not database_url.startswith(("postgresql", "postgres://")):
        _fail("--database-url must be a PostgreSQL URL")
    from accorria_agent.bench.dashboard import run_dashboard

    figures = run_dashboard(
        database_url,
        conversations=conversations,
        thread_messages=thread,
        dashboards=dashboards,
        rounds=rounds,
        runs=runs,
    )
    if not all(figures["goals"].values()):
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors print one line and exit with code 2."""
    # Typer vendors Click; its usage errors come from that vendored copy.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
    from typer.main import get_command

    command = get_command(app)
    try:
        result = command.main(args=argv, prog_name="accorria-agent", standalone_mode=False)
    except NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help() if error.ctx else "usage: accorria-agent --help")
        sys.exit(0)
    except ClickException as error:
        message = " ".join(error.format_message().split())
        typer.echo(f"error: {message} (see 'accorria-agent --help')", err=True)
        sys.exit(error.exit_code)
    except typer.Exit as stop:
        sys.exit(stop.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        reason = _unreachable(error)
        if reason is None:
            raise
        # A database (or another server) that is missing, refuses us or is down: one line, no traceback.
        typer.echo(f"error: {reason}", err=True)
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


def _unreachable(error: BaseException) -> str | None:
    """The line to print when ``error`` is about reaching the database (else ``None``: a real bug)."""
    import sqlalchemy.exc

    from accorria_agent.db.errors import unusable_database

    if not isinstance(error, sqlalchemy.exc.DBAPIError | ConnectionError):
        return None  # asyncpg raises the socket's own ConnectionRefusedError on connect
    reason = unusable_database(error)
    return f"cannot use the database: {reason}" if reason is not None else None

if __name__ == "__main__":
    main()
