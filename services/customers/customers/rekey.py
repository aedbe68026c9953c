"""``crm-customers-rekey``: recompute the stored duplicate keys after the key rules changed.

    crm-customers-rekey [--batch-size 500] [--after-id N] [--db-url URL] [--dry-run]

When `customers.normalize.KEY_VERSION` changes (version 2: a name's key in the duplicate block
carries its region, the fuzzy scan indexes pinyin, the whole key and the trade name), the keys
stored under the old rules must be recomputed. This command does it for every live customer:

- **set-wise**: customers are read in batches of ``--batch-size`` by id; for each batch the keys
  are computed in Python and the changed customers' rows are replaced with one DELETE and one
  INSERT per table (``customers.name_key``, ``customer_keys``, ``fuzzy_keys``), in one transaction
  per batch;
- **resumable**: after each batch it prints ``done up to id N``; ``--after-id N`` starts after it.
  A batch interrupted midway is rolled back whole;
- ``--dry-run`` counts what would change and writes nothing (its pair report then sees only the
  postings already stored);
- **safe to run twice**: a customer whose stored keys already are the new ones is not touched, so
  a second run changes nothing and reports nothing;
- a key that another customer already holds (two customers that the new rules call the same,
  left from a race or a manager's override) stays with its holder: the customer is reported, it
  keeps its other keys, and the fuzzy scan still sees the pair.

Then it **reports the pairs whose status changed** between the old rules (the same name key
blocks) and the new ones (`customers.domain.blocks_same_name`: block, or flag 同字号，不同地区),
among the customers it changed: one line per pair, ``id ↔ id: old → new (reason)``. The exit
status is 0, or 1 when the database cannot be reached.

Memory: the old name key of each changed customer is kept until the report (tens of bytes each).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

# an operator's command: eventlet's deprecation notice (through nameko) is noise on its screen
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from crm_common.config import database_url, load_config, service_config_path  # noqa: E402
from crm_common.db import make_engine  # noqa: E402
from customers import domain  # noqa: E402
from customers.normalize import (  # noqa: E402
    KEY_VERSION,
    CompanyName,
    InvalidCompanyName,
    analyse_company_name,
)
from customers.store import Store  # noqa: E402

BATCH_SIZE = 500
BLOCK, FLAG, NONE = "block", "flag", "none"
STATUS_WORDS = {BLOCK: "拦截", FLAG: "提示（同字号，不同地区）", NONE: "不相关"}


@dataclass
class RekeyReport:
    customers: int = 0
    changed: int = 0
    held_elsewhere: list[tuple[int, str, str, int]] = field(default_factory=list)  # id, kind, key, holder
    invalid: list[int] = field(default_factory=list)
    pairs: list[tuple[int, int, str, str]] = field(default_factory=list)  # a, b, old, new
    last_id: int | None = None


@dataclass(frozen=True)
class _Keys:
    name: CompanyName
    exact: tuple[tuple[str, str], ...]
    fuzzy: frozenset[str]


def new_keys(name: str, phones: Sequence[str], contacts: Sequence[dict]) -> _Keys:
    """The keys a customer holds under today's rules."""
    company = analyse_company_name(name)
    every_phone = domain.all_phones(phones or [], contacts or [])
    return _Keys(
        company,
        tuple(domain.exact_keys(company.key, every_phone, company.region)),
        frozenset(domain.candidate_keys(company.key, every_phone)),
    )


def rekey(sessions: sessionmaker, batch_size: int = BATCH_SIZE, after_id: int = 0, dry_run: bool = False,
          out: TextIO = sys.stdout) -> RekeyReport:  # fmt: skip
    """Recompute every live customer's keys, batch by batch; report pairs whose status changed."""
    report = RekeyReport(last_id=after_id)
    old_name_keys: dict[int, str] = {}
    while True:
        with sessions() as session:
            batch = Store.on_session(session).live_batch(report.last_id or 0, batch_size)
            if not batch:
                break
            _rekey_batch(session, batch, report, old_name_keys)
            if dry_run:
                session.rollback()
            else:
                session.commit()
            report.last_id = batch[-1].id
        print(
            f"done up to id {report.last_id} ({report.customers} customers, {report.changed} changed)",
            file=out,
        )
    with sessions() as session:
        report.pairs = _changed_pairs(session, old_name_keys)
    return report


def _rekey_batch(
    session: Session, batch: Sequence[Any], report: RekeyReport, old_name_keys: dict[int, str]
) -> None:
    store = Store.on_session(session)
    ids = [row.id for row in batch]
    held = store.held_keys(ids)
    indexed = store.indexed_keys(ids)
    changed: dict[int, _Keys] = {}
    for row in batch:
        report.customers += 1
        try:
            keys = new_keys(row.name, row.phones, row.contacts)
        except InvalidCompanyName:
            report.invalid.append(row.id)  # kept as it is: a manager corrects the name
            continue
        if keys.name.key != row.name_key or set(keys.exact) != held[row.id] or keys.fuzzy != indexed[row.id]:
            changed[row.id] = keys
            old_name_keys[row.id] = row.name_key
    if not changed:
        return
    report.changed += len(changed)
    wanted = {key for keys in changed.values() for key in keys.exact}
    holders = store.key_holders(wanted)
    rows: list[dict] = []
    claimed: dict[tuple[str, str], int] = {}
    for cid, keys in changed.items():
        for kind, key in keys.exact:
            holder = claimed.get((kind, key), holders.get((kind, key)))
            if holder is not None and holder != cid and holder not in changed:
                report.held_elsewhere.append((cid, kind, key, holder))
                continue
            if (kind, key) in claimed:
                report.held_elsewhere.append((cid, kind, key, claimed[(kind, key)]))
                continue
            claimed[(kind, key)] = cid
            rows.append({"kind": kind, "key": key, "customer_id": cid})
    store.replace_keys(
        sorted(changed),
        rows,
        [{"key": key, "customer_id": cid} for cid, keys in changed.items() for key in keys.fuzzy],
        {cid: keys.name.key for cid, keys in changed.items() if keys.name.key != old_name_keys[cid]},
    )


def _changed_pairs(session: Session, old_name_keys: dict[int, str]) -> list[tuple[int, int, str, str]]:
    """Pairs touching a changed customer whose status differs between the old rule (the same
    name key blocks) and the new one, found through the ``k:`` postings (indexed)."""
    store = Store.on_session(session)
    pairs: dict[tuple[int, int], tuple[str, str]] = {}
    changed = sorted(old_name_keys)
    for start in range(0, len(changed), BATCH_SIZE):
        ids = changed[start : start + BATCH_SIZE]
        mine = store.names_of(ids)
        lookups = {
            cid: {_same_key(mine[cid]), domain.same_name_key(old_name_keys[cid])} - {None} for cid in mine
        }
        postings = store.postings_of({key for keys in lookups.values() for key in keys})
        others = {other for keys in lookups.values() for key in keys for other in postings.get(key, [])}
        names = store.live_names(others | set(mine))
        for cid, keys in lookups.items():
            for other in {o for key in keys for o in postings.get(key, [])}:
                if other == cid or other not in names or cid not in names:
                    continue
                a, b = sorted((cid, other))
                old = (
                    BLOCK if _old_key(a, names, old_name_keys) == _old_key(b, names, old_name_keys) else NONE
                )
                new = _new_status(names[a][0], names[b][0])
                if old != new:
                    pairs[(a, b)] = (old, new)
    return [(a, b, old, new) for (a, b), (old, new) in sorted(pairs.items())]


def _same_key(name: str) -> str | None:
    try:
        return domain.same_name_key(analyse_company_name(name).key)
    except InvalidCompanyName:
        return None


def _old_key(cid: int, names: dict[int, tuple[str, str]], old_name_keys: dict[int, str]) -> str:
    return old_name_keys.get(cid, names[cid][1])


def _new_status(name_a: str, name_b: str) -> str:
    try:
        a, b = analyse_company_name(name_a), analyse_company_name(name_b)
    except InvalidCompanyName:
        return NONE
    if a.key != b.key:
        return NONE
    return BLOCK if domain.blocks_same_name(a.region, b.region) else FLAG


def print_report(report: RekeyReport, out: TextIO = sys.stdout) -> None:
    print(
        f"key version {KEY_VERSION}: {report.customers} customers read, {report.changed} changed",
        file=out,
    )
    for cid, kind, key, holder in report.held_elsewhere:
        print(
            f"customer {cid}: {kind} key {key!r} stays with customer {holder} (the same customer?)", file=out
        )
    for cid in report.invalid:
        print(f"customer {cid}: its name has no key under today's rules; kept as it was", file=out)
    print(f"{len(report.pairs)} pair(s) whose status changed:", file=out)
    for a, b, old, new in report.pairs:
        print(f"  {a} ↔ {b}: {STATUS_WORDS[old]} → {STATUS_WORDS[new]}", file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-customers-rekey", description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="customers per transaction")
    parser.add_argument("--after-id", type=int, default=0, help="resume after this customer id")
    parser.add_argument("--db-url", help="default: DB_URL of services/customers/config.yml")
    parser.add_argument("--dry-run", action="store_true", help="compute and report, change nothing")
    return parser


def main(argv: Iterable[str], out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(list(argv))
    if args.batch_size < 1 or args.after_id < 0:
        print("--batch-size must be at least 1 and --after-id not negative", file=sys.stderr)
        return 2
    url = args.db_url or database_url("customers", load_config(service_config_path("customers")))
    engine = make_engine(url)
    try:
        report = rekey(sessionmaker(bind=engine), args.batch_size, args.after_id, args.dry_run, out)
    except Exception as exc:  # noqa: BLE001 — the operator reads one line, not a traceback
        if exc.__class__.__module__.startswith("sqlalchemy"):
            print(f"cannot rekey: {exc.__class__.__name__}: {str(exc)[:300]}", file=sys.stderr)
            return 1
        raise
    finally:
        engine.dispose()
    print_report(report, out)
    return 0


def main_cli() -> int:
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
