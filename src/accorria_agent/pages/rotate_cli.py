"""The terminal side of ``accorria-agent rotate-keys``: a Rich progress bar and a final count."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from accorria_agent.crypto import TokenCipher, TokenCipherError
from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.pages.key_rotation import count_encrypted, rotate_keys
from accorria_agent.settings import Settings


async def run_rotation(
    settings: Settings, database_url: str, batch_size: int, console: Console | None = None
) -> int:
    """Rotate every secret; returns the exit code (0 done, 1 some rows undecryptable, 2 bad key)."""
    out = console or Console(stderr=True)
    try:
        cipher = TokenCipher(settings.encryption_key.get_secret_value())
    except TokenCipherError as error:
        out.print(f"error: {error}")
        return 2
    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        total = await count_encrypted(factory)
        with Progress(
            TextColumn("re-encrypting secrets"),
            BarColumn(),
            MofNCompleteColumn(),
            console=out,
            transient=False,
        ) as progress:
            bar = progress.add_task("rotate", total=total)
            report = await rotate_keys(
                factory, cipher, batch_size=batch_size, on_progress=lambda n: progress.advance(bar, n)
            )
    finally:
        await engine.dispose()
    out.print(
        f"rotate-keys: {report.rotated} re-encrypted, {report.current} already under the newest key, "
        f"{len(report.undecryptable)} undecryptable"
    )
    for table, row_id in report.undecryptable:
        out.print(f"  cannot decrypt {table} id={row_id} with any configured key")
    return 1 if report.undecryptable else 0
