"""The one place where seller data is scoped to its tenant.

Every query that reads conversations or messages goes through :func:`tenant_select`, so no code path can
forget the ``tenant_id`` filter and read another seller's data (a test tries exactly that).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute


class TenantOwned(Protocol):
    tenant_id: Any


ModelT = TypeVar("ModelT")


def tenant_select(model: type[ModelT], tenant_id: int) -> Select[ModelT]:
    """``SELECT model WHERE model.tenant_id = :tenant_id`` — the only way to start a tenant-data query."""
    column = getattr(model, "tenant_id", None)
    if not isinstance(column, InstrumentedAttribute):
        raise TypeError(f"{model.__name__} is not tenant-owned (no tenant_id column)")
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise TypeError("tenant_id must be an int")
    return select(model).where(column == tenant_id)
