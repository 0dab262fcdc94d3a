"""Encryption at rest through the real CLI, on SQLite and PostgreSQL: ``serve`` seals what
it stores, every command reads it back, ``keys rotate`` moves it to a new key, and a
missing or wrong key is one line and exit 2 (never a traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from hookyard.keyring import derived_key_id, keyring_from, parse_key_material
from hookyard.store import open_store
from support.databases import fresh_database
from support.factories import submission
from support.server import hookyard_command, start_server
from support.sink import running_sink

MARK = b"PAN-4111111111111111"
BODY = b'{"type": "payment.captured", "card": "' + MARK + b'"}'
SOURCE = '\n[sources.shop]\nscheme = "none"\n'


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        hookyard_command(*args),
        cwd=cwd,
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[bytes], code: int, text: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert text in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr


def config(workdir: Path, name: str, keys: str, database: str) -> Path:
    path = workdir / f"{name}.toml"
    path.write_text(f'[server]\ndatabase = "{database}"\nencryption_key = {keys}\n{SOURCE}')
    return path


async def raw_bodies(database: str) -> list[bytes]:
    conn = await asyncpg.connect(database)
    try:
        return [
            bytes(r[0]) + bytes(r[1]) for r in await conn.fetch("SELECT body, headers FROM events")
        ]
    finally:
        await conn.close()


def at_rest(database: str) -> bytes:
    """Everything the database holds on disk (SQLite: the file and its WAL)."""
    if database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    return b"".join(asyncio.run(raw_bodies(database)))


@dataclass
class Keys:
    old: str
    new: str
    env: dict[str, str]


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    made = [cli("keys", "generate", cwd=tmp_path) for _ in range(2)]
    assert all(r.returncode == 0 for r in made)
    old, new = (r.stdout.decode().strip() for r in made)
    assert old != new and len(parse_key_material(old)) == 32
    return Keys(old, new, {"HY_OLD_KEY": old, "HY_NEW_KEY": new})


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield fresh_database(request, tmp_path)


@pytest.mark.slow
def test_serve_seals_commands_read_and_rotate_moves_every_event_to_the_new_key(
    tmp_path: Path, keys: Keys, database: str
) -> None:
    old_only = config(tmp_path, "old", '"env:HY_OLD_KEY"', database)
    server = start_server(
        tmp_path, config=old_only.read_text(), env=keys.env, extra_args=("--no-worker",)
    )
    try:
        ids = []
        for n in range(3):
            response = httpx.post(
                f"{server.url}/in/shop",
                content=BODY.replace(b"captured", f"captured{n}".encode()),
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {MARK!r}"},
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    finally:
        assert server.stop() == 0
    assert MARK not in at_rest(database)

    shown = cli(
        "events", "show", ids[0], "--raw", "--config", str(old_only), cwd=tmp_path, env=keys.env
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == BODY.replace(b"captured", b"captured0")
    listed = cli("events", "list", "--config", str(old_only), cwd=tmp_path, env=keys.env)
    assert listed.returncode == 0 and all(i.encode() in listed.stdout for i in ids)

    # Without the key, and with only a key that did not seal them: refused in one line.
    one_line_error(
        cli("events", "show", ids[0], "--db", database, cwd=tmp_path),
        2,
        "holds events sealed with key",
    )
    new_only = config(tmp_path, "new", '"env:HY_NEW_KEY"', database)
    one_line_error(
        cli("serve", "--config", str(new_only), "--port", "0", cwd=tmp_path, env=keys.env),
        2,
        "which server.encryption_key does not list",
    )

    both = config(tmp_path, "both", '["env:HY_NEW_KEY", "env:HY_OLD_KEY"]', database)
    rotated = cli(
        "keys", "rotate", "--config", str(both), "--batch-size", "2", cwd=tmp_path, env=keys.env
    )
    new_id = derived_key_id(parse_key_material(keys.new))
    old_id = derived_key_id(parse_key_material(keys.old))
    assert rotated.returncode == 0, rotated.stderr
    out = rotated.stdout.decode()
    assert f"re-encrypted 3 event(s) under key '{new_id}'" in out
    assert f"no event is sealed with '{old_id}' any more" in out
    assert "3 event(s) to re-encrypt" in rotated.stderr.decode()

    status = cli("keys", "status", "--config", str(new_only), cwd=tmp_path, env=keys.env)
    assert status.returncode == 0, status.stderr
    assert f"{new_id:<24} {3:>10}  current" in status.stdout.decode()

    # The old key is gone from the config; everything reads, replay sends the same bytes.
    with running_sink() as sink:
        replayed = cli(
            "replay",
            ids[1],
            "--url",
            sink.url(),
            "--config",
            str(new_only),
            cwd=tmp_path,
            env=keys.env,
        )
        assert replayed.returncode == 0, replayed.stderr
        assert [r.body for r in sink.received] == [BODY.replace(b"captured", b"captured1")]
    shown = cli(
        "events", "show", ids[2], "--json", "--config", str(new_only), cwd=tmp_path, env=keys.env
    )
    assert shown.returncode == 0, shown.stderr
    assert b"Authorization" in shown.stdout
    exported = cli(
        "export", "--config", str(new_only), str(tmp_path / "corpus"), cwd=tmp_path, env=keys.env
    )
    assert exported.returncode == 0, exported.stderr
    bodies = sorted(p.read_bytes() for p in (tmp_path / "corpus").glob("*.body"))
    assert bodies == sorted(BODY.replace(b"captured", f"captured{n}".encode()) for n in range(3))
    diffed = cli(
        "events", "diff", ids[0], ids[1], "--config", str(new_only), cwd=tmp_path, env=keys.env
    )
    assert diffed.returncode in (0, 1), diffed.stderr
    assert b"captured0" in diffed.stdout and b"captured1" in diffed.stdout
    assert MARK not in at_rest(database)


def test_a_missing_or_malformed_key_stops_every_command_in_one_line(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    unset = config(tmp_path, "unset", '"env:HY_KEY_NOBODY_SET"', database)
    for args in (("serve", "--port", "0"), ("events", "list"), ("keys", "rotate")):
        one_line_error(
            cli(*args, "--config", str(unset), cwd=tmp_path),
            2,
            "server.encryption_key: environment variable HY_KEY_NOBODY_SET is not set",
        )
    short = config(tmp_path, "short", '"c2hvcnQ"', database)
    one_line_error(cli("serve", "--config", str(short), cwd=tmp_path), 2, "is 5 bytes, not 32")
    none = tmp_path / "none.toml"
    none.write_text(f'[server]\ndatabase = "{database}"\n')
    one_line_error(
        cli("keys", "rotate", "--config", str(none), cwd=tmp_path),
        2,
        "server.encryption_key is not set: there is no key to rotate to",
    )


def test_rotate_reports_an_event_that_does_not_decrypt_and_exits_1(
    tmp_path: Path, keys: Keys
) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    old_ring = keyring_from([(None, keys.old)])

    async def store_two() -> list[str]:
        store = open_store(database, keyring=old_ring)
        await store.start()
        try:
            return [(await store.submit(submission(BODY))).id for _ in range(2)]
        finally:
            await store.close()

    good, damaged = asyncio.run(store_two())
    with contextlib.closing(sqlite3.connect(tmp_path / "hookyard.db")) as conn:
        conn.execute("UPDATE events SET body = zeroblob(64) WHERE id = ?", (damaged,))
        conn.commit()
    both = config(tmp_path, "both", '["env:HY_NEW_KEY", "env:HY_OLD_KEY"]', database)
    rotated = cli("keys", "rotate", "--config", str(both), cwd=tmp_path, env=keys.env)
    stderr = rotated.stderr.decode()
    assert rotated.returncode == 1, stderr
    assert f"not re-encrypted: event {damaged}: cannot decrypt its body" in stderr
    assert "Traceback" not in stderr
    assert "re-encrypted 1 event(s)" in rotated.stdout.decode()
    shown = cli(
        "events", "show", damaged, "--raw", "--config", str(both), cwd=tmp_path, env=keys.env
    )
    one_line_error(shown, 1, f"event {damaged}: cannot decrypt its body")
    fine = cli("events", "show", good, "--raw", "--config", str(both), cwd=tmp_path, env=keys.env)
    assert fine.returncode == 0 and fine.stdout == BODY


def test_every_command_of_the_later_features_opens_a_sealed_store(
    tmp_path: Path, keys: Keys
) -> None:
    """purge, destinations, audit, replay list, dlq and the mirror commands read the key
    from the config like the rest (they are newer than encryption at rest)."""
    database = f"sqlite:///{tmp_path / 'sealed.db'}"
    path = tmp_path / "all.toml"
    path.write_text(
        f'[server]\ndatabase = "{database}"\nencryption_key = "env:HY_OLD_KEY"\n{SOURCE}'
        '\n[destinations.app]\nurl = "https://app.example/hooks"\n'
        '\n[mirrors.staging]\nsources = ["shop"]\nurl = "https://staging.example/hooks"\n'
    )
    env = keys.env
    assert cli("keys", "status", "--config", str(path), cwd=tmp_path, env=env).returncode == 0
    for command in (
        ("purge", "--older-than", "30d", "--dry-run"),
        ("destinations", "list"),
        ("audit", "list"),
        ("replay", "list"),
        ("dlq", "list"),
        ("mirror", "report", "staging"),
        ("mirror", "backfill", "staging", "--since", "1h"),
    ):
        result = cli(*command, "--config", str(path), cwd=tmp_path, env=env)
        assert result.returncode == 0, (command, result.stderr.decode())
    # Purge and key rotation are operator actions: both land in the audit trail.
    for command in (("purge", "--older-than", "30d"), ("keys", "rotate")):
        result = cli(*command, "--config", str(path), cwd=tmp_path, env=env)
        assert result.returncode == 0, (command, result.stderr.decode())
    trail = cli("audit", "list", "--json", "--config", str(path), cwd=tmp_path, env=env)
    actions = {entry["action"] for entry in json.loads(trail.stdout)["entries"]}
    assert {"purge", "keys.rotate"} <= actions, actions
