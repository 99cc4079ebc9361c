"""The small state kept beside the decisions, as statements on a connection: read cursors and
push subscriptions per mailbox folder, and the installation facts.

Each function runs inside the caller's transaction (`SqlStore._tx`); writes are upserts, so
saving the same value twice is harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from vmrsched.adapters.db import mapping
from vmrsched.adapters.db.dialects import insert
from vmrsched.adapters.db.tables import cursors, installation_facts
from vmrsched.adapters.db.tables import subscriptions as subscriptions_table

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Connection

    from vmrsched.ports.store import Subscription


def get_cursor(conn: Connection, mailbox: str, folder: str) -> str | None:
    """The read cursor kept for a mailbox folder (None: none kept)."""
    value: str | None = conn.execute(
        sa.select(cursors.c.value)
        .where(cursors.c.mailbox == mailbox)
        .where(cursors.c.folder == folder)
    ).scalar_one_or_none()
    return value


def set_cursor(
    conn: Connection, mailbox: str, folder: str, value: str | None, *, now: datetime
) -> None:
    """Keep a folder's read cursor; None forgets it."""
    if value is None:
        conn.execute(
            sa.delete(cursors).where(cursors.c.mailbox == mailbox).where(cursors.c.folder == folder)
        )
        return
    conn.execute(
        insert(conn, cursors)
        .values(mailbox=mailbox, folder=folder, value=value, updated=now)
        .on_conflict_do_update(
            index_elements=[cursors.c.mailbox, cursors.c.folder],
            set_={"value": value, "updated": now},
        )
    )


def save_subscription(conn: Connection, subscription: Subscription, *, now: datetime) -> None:
    """Insert or update a push subscription by its id."""
    changes = {
        "mailbox": subscription.mailbox,
        "folder": subscription.folder,
        "kind": subscription.kind,
        "expires": subscription.expires,
        "detail": dict(subscription.detail),
        "updated": now,
    }
    conn.execute(
        insert(conn, subscriptions_table)
        .values(subscription_id=subscription.subscription_id, created=now, **changes)
        .on_conflict_do_update(index_elements=[subscriptions_table.c.subscription_id], set_=changes)
    )


def subscriptions(conn: Connection, mailbox: str | None = None) -> list[Subscription]:
    """The push subscriptions kept (of one mailbox, or all), by id."""
    query = sa.select(subscriptions_table).order_by(subscriptions_table.c.subscription_id)
    if mailbox is not None:
        query = query.where(subscriptions_table.c.mailbox == mailbox)
    rows = conn.execute(query).mappings().all()
    return [mapping.subscription_from_row(r) for r in rows]


def delete_subscription(conn: Connection, subscription_id: str) -> None:
    """Forget a push subscription (nothing happens when it is not kept)."""
    conn.execute(
        sa.delete(subscriptions_table).where(
            subscriptions_table.c.subscription_id == subscription_id
        )
    )


def get_fact(conn: Connection, key: str) -> str | None:
    """An installation fact (None: not set)."""
    value: str | None = conn.execute(
        sa.select(installation_facts.c.value).where(installation_facts.c.key == key)
    ).scalar_one_or_none()
    return value


def set_fact(conn: Connection, key: str, value: str, *, now: datetime) -> None:
    """Set an installation fact, replacing any earlier value."""
    stmt = insert(conn, installation_facts).values(key=key, value=value, updated=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[installation_facts.c.key],
            set_={"value": value, "updated": now},
        )
    )


def ensure_fact(conn: Connection, key: str, value: str, *, now: datetime) -> str:
    """Set an installation fact unless it is set; the value stored either way."""
    conn.execute(
        insert(conn, installation_facts)
        .values(key=key, value=value, updated=now)
        .on_conflict_do_nothing(index_elements=[installation_facts.c.key])
    )
    stored: str = conn.execute(
        sa.select(installation_facts.c.value).where(installation_facts.c.key == key)
    ).scalar_one()
    return stored


__all__ = [
    "delete_subscription",
    "ensure_fact",
    "get_cursor",
    "get_fact",
    "save_subscription",
    "set_cursor",
    "set_fact",
    "subscriptions",
]
