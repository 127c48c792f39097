"""tianshu_pg.migrations against a real embedded PostgreSQL, a fresh database per test: each
file applied once, in version order, in a transaction with its record; a failing one changes
nothing; runners starting together (replicas) apply each file once."""
import asyncio
import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from tianshu_pg import migrations

# Each migration appends to `log`; 0001 creates it without IF NOT EXISTS, so applying
# anything twice either fails or shows as a second row.
FIRST = {"0001_create_log.sql": "CREATE TABLE log (id serial PRIMARY KEY, entry text NOT NULL);"
                                "INSERT INTO log (entry) VALUES ('first');",
         "0002_second_entry.sql": "INSERT INTO log (entry) VALUES ('second');"}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """write(files) -> the name of an importable package whose migrations/ folder holds files
    (name -> SQL); call again to add files, as a later release does."""
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name / "migrations"
    folder.mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(files: dict[str, str]) -> str:
        for file_name, sql in files.items():
            (folder / file_name).write_text(sql)
        return name
    write.root = tmp_path
    return write


@pytest.fixture
def lock_key() -> int:
    return uuid.uuid4().int % 2**62


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _log(url: str) -> list[str]:
    return [entry for (entry,) in _rows(url, "SELECT entry FROM log ORDER BY id")]


def _recorded(url: str) -> list[tuple[int, str]]:
    return _rows(url, "SELECT version, name FROM schema_migrations ORDER BY version")


def test_pending_migrations_are_applied_in_version_order_and_recorded(database_url, package, lock_key):
    name = package({"0010_tenth_entry.sql": "INSERT INTO log (entry) VALUES ('tenth');", **FIRST,
                    "README.md": "not a migration", "1_short_version.sql": "SELECT 1/0;",
                    "0003-dashes.sql": "SELECT 1/0;"})

    assert migrations.migrate(database_url, name, lock_key) == [1, 2, 10]
    assert _log(database_url) == ["first", "second", "tenth"]
    assert _recorded(database_url) == [(1, "create_log"), (2, "second_entry"), (10, "tenth_entry")]


def test_a_second_run_applies_nothing_and_a_later_file_alone_is_applied(database_url, package, lock_key):
    name = package(FIRST)
    migrations.migrate(database_url, name, lock_key)

    assert migrations.migrate(database_url, name, lock_key) == []
    assert _log(database_url) == ["first", "second"]
    package({"0003_third_entry.sql": "INSERT INTO log (entry) VALUES ('third');"})
    assert migrations.migrate(database_url, name, lock_key) == [3]
    assert _log(database_url) == ["first", "second", "third"]


def test_a_failing_migration_leaves_the_schema_as_it_was_and_runs_again_once_fixed(database_url, package, lock_key):
    name = package({**FIRST, "0003_half_done.sql": "CREATE TABLE half (id int); INSERT INTO log (entry) "
                                                   "VALUES ('half'); SELECT 1/0;",
                    "0004_after.sql": "INSERT INTO log (entry) VALUES ('after');"})

    with pytest.raises(psycopg.errors.DivisionByZero):
        migrations.migrate(database_url, name, lock_key)
    assert _log(database_url) == ["first", "second"]
    assert _recorded(database_url) == [(1, "create_log"), (2, "second_entry")]
    assert _rows(database_url, "SELECT to_regclass('half')") == [(None,)]
    with psycopg.connect(database_url, autocommit=True) as conn:  # the lock was given back
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key,)).fetchone() == (True,)

    package({"0003_half_done.sql": "CREATE TABLE half (id int); INSERT INTO log (entry) VALUES ('half');"})
    assert migrations.migrate(database_url, name, lock_key) == [3, 4]
    assert _log(database_url) == ["first", "second", "half", "after"]


def test_two_files_of_one_version_are_refused_before_anything_is_applied(database_url, package, lock_key):
    name = package({**FIRST, "0002_other_second.sql": "INSERT INTO log (entry) VALUES ('other');"})
    with pytest.raises(RuntimeError, match="duplicate migration versions"):
        migrations.migrate(database_url, name, lock_key)
    assert _rows(database_url, "SELECT to_regclass('log')") == [(None,)]


async def test_runners_starting_together_apply_each_migration_once(database_url, package, lock_key):
    """Two processes, as two replicas starting at once. The test holds the advisory lock until
    both wait for it, so they really contend; then each file must be applied by one only."""
    name = package(FIRST)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package.root), *sys.path])}
    script = ("import sys; from tianshu_pg import migrations; "
              "print(migrations.migrate(sys.argv[1], sys.argv[2], int(sys.argv[3])))")
    with psycopg.connect(database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
        runners = [await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, name, str(lock_key), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
        await _until_waiting_for_advisory_lock(database_url, runners, count=2)
        holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
        outputs = [await runner.communicate() for runner in runners]

    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert sorted(out.decode().strip() for out, _ in outputs) == ["[1, 2]", "[]"]
    assert _log(database_url) == ["first", "second"]
    assert _recorded(database_url) == [(1, "create_log"), (2, "second_entry")]


async def _until_waiting_for_advisory_lock(url: str, runners, count: int, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            (waiting,) = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                                      "AND database = (SELECT oid FROM pg_database WHERE datname = "
                                      "current_database())").fetchone()
            if waiting == count:
                return
            finished = [r.returncode for r in runners if r.returncode is not None]
            assert not finished and loop.time() < deadline, \
                f"{waiting} of {count} runners waited for the migration lock (finished: {finished})"
            await asyncio.sleep(0.05)
