"""Versioned schema migrations: a service package's migrations/NNNN_name.sql applied in
order, each in its own transaction together with its row in schema_migrations, under an
advisory lock so that replicas starting together apply each file once. Each service has its
own database, hence its own schema_migrations."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(package: str) -> list[Migration]:
    """The migrations in the `migrations` folder of `package` (e.g. "tianshu_rag.storage")."""
    folder = resources.files(package) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def migrate(url: str, package: str, lock_key: int) -> list[int]:
    """Applies every migration of `package` not yet recorded; returns the versions applied
    now. lock_key: the advisory lock that serializes this service's migrating replicas."""
    applied_now = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
        try:
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                                version int PRIMARY KEY, name text NOT NULL,
                                applied_at timestamptz NOT NULL DEFAULT now())""")
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for migration in available(package):
                if migration.version in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                                 (migration.version, migration.name))
                log.info("migration applied", extra={"version": migration.version, "migration": migration.name})
                applied_now.append(migration.version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
    return applied_now
