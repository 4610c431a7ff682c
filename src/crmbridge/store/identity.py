"""Which store this is, and which CRM account each of its connectors syncs.

A store is born with an id (migration 0006). Everything it writes into a CRM carries a
*mark* — ``<store id>:<generation>`` in the ``<prefix>_store`` property — and the
generation grows with every rescoring pass that plans writes. Reading a contact's mark
back tells three things apart:

- no crmbridge values at all: nobody's, go on;
- this store's id at a generation it has issued: ours, go on;
- another store's id (a deleted store replaced by an empty one, a second working
  directory): *foreign*;
- this store's id at a generation it never issued (a restored backup, whose original
  kept writing after the copy was taken): *foreign* too;
- crmbridge values without a mark: written by a release before marks existed. They are
  ours only in a store that was upgraded from such a release while holding contacts
  (``legacy_unmarked``, set by migration 0006); a store created since never wrote
  without its mark, so to it they are *foreign* (the store that wrote them was
  deleted, or works from another directory).

A foreign contact is held — nothing is written for it — until an admin adopts it.

A store that reads its own id at a generation it never issued is a restored copy: it
takes a new id at once (:func:`fork_if_restored`), so the generations it issues from
then on can never catch up with the ones its original wrote. Its former id stays known,
frozen at the generation the copy had reached: marks up to it are still its own.

Each connector is bound to the CRM account it first synced; a store started against a
different account refuses, so one store's state never leaks into another CRM.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from crmbridge import clock
from crmbridge.errors import ConfigError, ConfigProblem
from crmbridge.logging import get_logger
from crmbridge.store.tables import ConnectorAccountRow, StoreIdentityRow

MARK_SEPARATOR = ":"
#: ``held_by`` / ``adopted_from`` of a contact whose crmbridge values carry no mark.
UNMARKED = "unmarked"


@dataclass(frozen=True, slots=True)
class Mark:
    """A parsed ``<prefix>_store`` value: which store wrote, at which generation."""

    store_id: str
    generation: int

    def text(self) -> str:
        """The value written into the CRM."""
        return f"{self.store_id}{MARK_SEPARATOR}{self.generation}"


def parse_mark(value: object) -> Mark | None:
    """A CRM value as a mark; None when empty. A value that is not ``id:number`` is
    kept whole as the store id (someone else's writing, never ours)."""
    if value is None:
        return None
    text = str(value).strip()[:80]
    if not text:
        return None
    store_id, _, generation = text.rpartition(MARK_SEPARATOR)
    if store_id and generation.isdigit() and len(generation) <= 18:
        return Mark(store_id, int(generation))
    return Mark(text, 0)


@dataclass(frozen=True, slots=True)
class Identity:
    """This store's id and the highest write generation it has issued; ``former`` are
    the ids it had before it found it was a restored copy, with their last generation."""

    store_id: str
    generation: int
    former: tuple[tuple[str, int], ...] = ()
    #: Upgraded from a release before marks while holding contacts: crmbridge values
    #: without a mark are this store's own.
    legacy_unmarked: bool = False

    def holds(self, values: Mapping[str, object], mark_name: str, adopted_from: str | None) -> bool:
        """Must a contact whose crmbridge values in the CRM are ``values`` be held?

        ``mark_name`` is the ``<prefix>_store`` property among them. A contact holding
        no crmbridge value is free to write; one holding values without a mark is held
        unless this store wrote before marks existed (or adopted it).
        """
        mark = values.get(mark_name)
        if parse_mark(mark) is not None:
            return self.is_foreign(mark, adopted_from)
        written = any(
            value is not None and str(value).strip()
            for name, value in values.items()
            if name != mark_name
        )
        return written and not self.legacy_unmarked and adopted_from != UNMARKED

    def is_foreign(self, value: object, adopted_from: str | None = None) -> bool:
        """Was the mark ``value`` (a CRM ``<prefix>_store``) written by another store?

        An empty mark names no store (:meth:`holds` judges the values it comes with).
        A mark this store adopted is ours from then on.
        """
        mark = parse_mark(value)
        if mark is None:
            return False
        if adopted_from and parse_mark(adopted_from) == mark:
            return False
        issued = dict(self.former)
        issued[self.store_id] = self.generation
        last = issued.get(mark.store_id)
        return last is None or mark.generation > last

    def is_restored_copy(self, value: object) -> bool:
        """Does ``value`` carry this store's current id at a generation it never issued?"""
        mark = parse_mark(value)
        return (
            mark is not None
            and mark.store_id == self.store_id
            and (mark.generation > self.generation)
        )

    def mark(self, generation: int | None = None) -> str:
        """The mark for writes planned at ``generation`` (default: the current one)."""
        return Mark(self.store_id, self.generation if generation is None else generation).text()


def same_store(desired: str, held: object) -> bool:
    """Does the CRM's mark name the same store as ``desired`` (any generation)?"""
    wanted, found = parse_mark(desired), parse_mark(held)
    return found is not None and wanted is not None and wanted.store_id == found.store_id


def read_identity(connection: Connection | Engine) -> Identity:
    """The store's identity (created by the migrations; re-created if lost).

    The newest row is the current id; older rows are ids the store had before it
    found it was a restored copy (see :func:`fork_if_restored`).
    """
    table = StoreIdentityRow.__table__  # type: ignore[attr-defined]
    if isinstance(connection, Engine):
        with connection.begin() as conn:
            return read_identity(conn)
    rows = list(
        connection.execute(
            sa_select(table.c.id, table.c.generation, table.c.legacy_unmarked).order_by(
                table.c.created_at.desc(), table.c.id
            )
        )
    )
    if not rows:
        # Only a hand-edited database lacks it: a new id is the honest answer (every
        # contact in the CRM then shows another store's mark and is held).
        return _new_id(connection, (), legacy_unmarked=False)
    current, *older = rows
    former = tuple((str(row.id), int(row.generation)) for row in older)
    # A restored copy of an upgraded store keeps knowing its unmarked values.
    legacy = any(bool(row.legacy_unmarked) for row in rows)
    return Identity(str(current.id), int(current.generation), former, legacy)


def _new_id(
    connection: Connection, former: tuple[tuple[str, int], ...], *, legacy_unmarked: bool
) -> Identity:
    table = StoreIdentityRow.__table__  # type: ignore[attr-defined]
    created = Identity(str(uuid.uuid4()), 0, former, legacy_unmarked)
    connection.execute(
        table.insert().values(
            id=created.store_id,
            generation=0,
            created_at=clock.now(),
            legacy_unmarked=legacy_unmarked,
        )
    )
    return created


def fork_if_restored(engine: Engine, marks: Iterable[object]) -> Identity | None:
    """Take a new id when a mark shows this store is a restored copy; the new identity,
    or None when nothing was found.

    Called with the marks of every page read, so the first read after a restore finds
    it: the original went on writing after the copy was taken, and those contacts are
    exactly the ones changed since the copy's cursor.
    """
    with engine.begin() as connection:
        identity = read_identity(connection)
        if not any(identity.is_restored_copy(mark) for mark in marks):
            return None
        forked = _new_id(
            connection,
            ((identity.store_id, identity.generation), *identity.former),
            legacy_unmarked=identity.legacy_unmarked,
        )
    get_logger(component="store").warning(
        "store.restored_copy",
        former_id=identity.store_id,
        generation=identity.generation,
        store_id=forked.store_id,
        note="a later state of this store wrote the CRM: this copy now has its own id",
    )
    return forked


def advance_generation(connection: Connection, identity: Identity) -> Identity:
    """Issue the next generation (called once by a rescoring pass that plans writes)."""
    table = StoreIdentityRow.__table__  # type: ignore[attr-defined]
    following = identity.generation + 1
    connection.execute(
        update(table)
        .where(table.c.id == identity.store_id, table.c.generation < following)
        .values(generation=following)
    )
    return replace(identity, generation=following)


@dataclass(frozen=True, slots=True)
class AccountBinding:
    """The outcome of binding a connector to the account its CRM reports."""

    connector: str
    account_id: str
    label: str
    new: bool


def bind_account(engine: Engine, connector: str, account_id: str, label: str) -> AccountBinding:
    """Record the CRM account ``connector`` syncs; refuse a different one.

    The first start records it. Later starts must see the same account, or a
    :class:`ConfigError` names both: scores, events and hand-off state of one CRM
    account must never be written into another.
    """
    table = ConnectorAccountRow.__table__  # type: ignore[attr-defined]
    account_id = account_id.strip()[:64]
    query = sa_select(table.c.account_id, table.c.label).where(table.c.connector == connector)
    try:
        with engine.begin() as connection:
            row = connection.execute(query).first()
            if row is None:
                connection.execute(
                    table.insert().values(
                        connector=connector,
                        account_id=account_id,
                        label=label[:200],
                        bound_at=clock.now(),
                    )
                )
                return AccountBinding(connector, account_id, label, new=True)
    except IntegrityError:
        # Another replica starting at the same moment bound it first: compare with its.
        with engine.connect() as connection:
            row = connection.execute(query).one()
    if str(row.account_id) == account_id:
        return AccountBinding(connector, account_id, str(row.label), new=False)
    bound = str(row.label) or f"account {row.account_id}"
    now_seen = label or f"account {account_id}"
    raise ConfigError(
        [
            ConfigProblem(
                f"connectors.{connector}",
                f"this store syncs {bound} (id {row.account_id}), but the configured "
                f"credentials reach {now_seen} (id {account_id})",
                "use the store that belongs to this account (bridge.database_url), or a "
                "new database for it; crmbridge never mixes two CRM accounts in one store",
            )
        ]
    )


def bound_accounts(engine: Engine) -> dict[str, str]:
    """Each connector's bound account id."""
    table = ConnectorAccountRow.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(sa_select(table.c.connector, table.c.account_id))
        return {str(name): str(account) for name, account in rows}


def bound_account(connection: Connection, connector: str) -> str | None:
    """The account id ``connector`` is bound to; None before its first start."""
    table = ConnectorAccountRow.__table__  # type: ignore[attr-defined]
    found = connection.execute(
        sa_select(table.c.account_id).where(table.c.connector == connector)
    ).scalar_one_or_none()
    return None if found is None else str(found)
