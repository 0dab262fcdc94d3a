"""The CLI's time, limit and rate options: hostile values are one usage line, exit 2.

Each case runs the real ``hookyard`` as a subprocess over a fresh SQLite database.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.server import hookyard_command

HUGE = str(10**100)
CASES = [
    (("events", "list", "--since", "99999999999w"), "--since: "),
    (("events", "list", "--since", "9" * 5000), "--since: "),
    (("events", "list", "--until", "²"), "--until: "),
    (("events", "list", "--since", "٣h"), "--since: "),
    (("events", "list", "--since", "0001-01-01T00:00:00+14:00"), "--since: "),
    (("events", "list", "--limit", HUGE), "--limit: "),
    (("events", "list", "--limit", "9" * 5000), "--limit: "),
    (("events", "list", "--source", "a\x01b", "--type", "x" * 5000), "--type: "),
    (("events", "list", "--type", "\udcff"), "--type: must be valid UTF-8 text"),
    (("events", "show", "\udcff"), "no event with id"),
    (("events", "explain", "\udcff"), "no event with id"),
    (("events", "diff", "\udcff", "x"), "no event with id"),
    (("replay", "\udcff", "--url", "http://127.0.0.1:9/"), "must be valid UTF-8 text"),
    (("dlq", "list", "--since", "²"), "--since: "),
    (("dlq", "list", "--until", "99999999999w"), "--until: "),
    (("dlq", "retry", "--since", "99999999999d"), "--since: "),
    (("export", "--since", "99999999999w", "out"), "--since: "),
    (("replay", "--status", "dead", "--limit", HUGE, "--url", "http://127.0.0.1:9/"), "--limit: "),
    (("replay", "--since", "1e308", "--url", "http://127.0.0.1:9/"), "--since: "),
    (("replay", "--status", "dead", "--rate", "nan", "--url", "http://127.0.0.1:9/"), "rate"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=lambda v: str(v)[:40])
def test_hostile_options_are_one_usage_line_exit_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    database = f"sqlite:///{tmp_path / 'hookyard.db'}"
    done = subprocess.run(
        hookyard_command(*args, "--db", database),
        capture_output=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err, err
