"""rotate-keys: every stored secret re-encrypted with the newest key; resumable, idempotent, reported."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from cryptography.fernet import Fernet
from rich.console import Console
from sqlalchemy import select

from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.pages.key_rotation import rotate_keys
from accorria_agent.pages.models import PendingPageGrant
from accorria_agent.pages.rotate_cli import run_rotation
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.settings import Settings


async def test_rotate_keys_resumable_idempotent_and_reports_undecryptable(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    old, new, lost = (Fernet.generate_key().decode() for _ in range(3))
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    try:
        old_cipher = TokenCipher(old)
        async with transaction(factory) as session:
            seller = await sellers.create_seller(session, "Rotator", "rotator@example.com")
            for i in range(5):
                await sellers.connect_page(
                    session,
                    old_cipher,
                    seller,
                    page_id=f"5000{i}",
                    page_name=f"P{i}",
                    page_access_token=f"EAAtok{i}",
                )
            # One Page whose token was written under a key nobody has any more.
            await sellers.connect_page(
                session,
                TokenCipher(lost),
                seller,
                page_id="59999",
                page_name="Lost",
                page_access_token="EAAlost",
            )
            session.add(
                PendingPageGrant(
                    seller_id=seller.id,
                    member_id=seller.id,
                    payload_encrypted=old_cipher.encrypt('[{"id": "1", "token": "EAAgrant"}]'),
                    granted_scopes=[],
                    form_token_hash="x" * 64,
                    expires_at=utcnow() + timedelta(minutes=5),
                )
            )
        both = TokenCipher(f"{new},{old}")

        # Interrupted after two batches of two rows: some rows rotated, the rest still under the old key.
        first = await rotate_keys(factory, both, batch_size=2, max_batches=2)
        assert first.rotated == 4 and first.undecryptable == []

        # The rerun finishes: the four done rows are skipped, the rest rotated, the lost one reported.
        progress: list[int] = []
        second = await rotate_keys(factory, both, batch_size=2, on_progress=progress.append)
        assert second.current == 4 and second.rotated == 2
        assert second.undecryptable == [
            ("messenger_tenants.page_access_token_encrypted", second.undecryptable[0][1])
        ]
        assert sum(progress) == 7

        # Everything decryptable now decrypts with the new key alone, to the same plaintext.
        only_new = TokenCipher(new)
        async with factory() as session:
            tenants = (
                await session.execute(select(MessengerTenant).order_by(MessengerTenant.page_id))
            ).scalars()
            tokens = {t.page_id: t.page_access_token_encrypted for t in tenants}
            grant = (await session.execute(select(PendingPageGrant))).scalar_one()
        assert {pid: only_new.decrypt(ct) for pid, ct in tokens.items() if pid != "59999"} == {
            f"5000{i}": f"EAAtok{i}" for i in range(5)
        }
        assert "EAAgrant" in only_new.decrypt(grant.payload_encrypted)

        # Idempotent: a third run changes nothing.
        third = await rotate_keys(factory, both)
        assert third.rotated == 0 and third.current == 6 and len(third.undecryptable) == 1
    finally:
        await engine.dispose()

    # The command's face: a progress bar, a final count, exit code 1 because one row is undecryptable.
    out = io.StringIO()
    settings = make_settings(ENCRYPTION_KEY=f"{new},{old}")
    code = await run_rotation(settings, database_url, 100, Console(file=out, width=120))
    text = out.getvalue()
    assert code == 1
    assert "0 re-encrypted, 6 already under the newest key, 1 undecryptable" in text
    assert "cannot decrypt messenger_tenants.page_access_token_encrypted" in text
    assert (
        await run_rotation(make_settings(ENCRYPTION_KEY="not-a-key"), database_url, 100, Console(file=out))
        == 2
    )
