"""``hookyard trigger``: every shipped sample of every scheme, signed at run time, is a valid
event to a real ``hookyard serve`` configured with the receiving secret; a corpus
directory works the same; mistakes exit 2 with one line, a refused send exits 1."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from hookyard.cli.trigger import trigger as trigger_command
from hookyard.exceptions import UsageError
from hookyard.live.samples import shipped
from hookyard.signatures.registry import scheme_names
from support.conformance_keys import KEYS
from support.server import RunningServer, free_port, hookyard_command, start_server


def _config() -> str:
    lines = []
    for scheme in scheme_names():
        lines.append(f'[sources.{scheme.replace("-", "_")}]\nscheme = "{scheme}"')
        if scheme in KEYS:
            lines.append(f"secrets = ['''{KEYS[scheme].verifying}''']")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("trigger")
    running = start_server(workdir, config=_config(), database=f"sqlite:///{workdir / 'h.db'}")
    yield running
    running.stop()


def trigger(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        hookyard_command("trigger", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def run_here(*args: str) -> tuple[int, str]:
    """The command in this process (the sweep below runs it many times; the CLI's own
    plumbing, exit codes and messages are the subprocess tests further down)."""
    result = CliRunner().invoke(trigger_command, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("scheme", scheme_names())
def test_every_sample_arrives_with_a_valid_signature(server: RunningServer, scheme: str) -> None:
    samples = shipped(scheme)
    assert len(samples) >= 1
    url = f"{server.url}/in/{scheme.replace('-', '_')}"
    secret = ["--secret", KEYS[scheme].signing] if scheme in KEYS else []
    for sample in samples:
        code, out = run_here(
            scheme, sample.event_type or sample.name, "--to", url, *secret, "--json"
        )
        assert code == 0, out
        assert json.loads(out)["status_code"] == 202
    events = httpx.get(f"{server.url}/api/events", params={"source": url.rsplit("/", 1)[1]})
    found = events.json()["events"]
    assert len(found) == len(samples)
    expected = "unsigned" if scheme == "none" else "valid"
    assert {e["verdict"] for e in found} == {expected}, [e["verdict_reason"] for e in found]
    # A fresh provider id each time: a second trigger is a new event, not a duplicate.
    code, out = run_here(scheme, samples[0].name, "--to", url, *secret, "--json")
    assert code == 0 and json.loads(out)["status_code"] == 202, out


def test_a_corpus_directory_is_sent_as_it_is(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "one.body").write_bytes(b'{"type": "corpus.thing", "a":1}')
    (tmp_path / "one.json").write_text(
        json.dumps(
            {"event_type": "corpus.thing", "headers": [["Content-Type", "application/json"]]}
        )
    )
    url = f"{server.url}/in/standard_webhooks"
    secret = KEYS["standard-webhooks"].signing
    code, out, err = finish(
        trigger(
            "standard-webhooks",
            "corpus.thing",
            "--to",
            url,
            "--secret",
            secret,
            "--corpus",
            str(tmp_path),
        )
    )
    assert code == 0 and "HTTP 202" in out, err
    [event] = httpx.get(f"{server.url}/api/events", params={"type": "corpus.thing"}).json()[
        "events"
    ]
    assert event["verdict"] == "valid" and event["body_size"] == 31


def test_list_shows_the_events(server: RunningServer) -> None:
    code, out, _ = finish(trigger("stripe", "--list"))
    assert code == 0 and "invoice.paid" in out.split()


def test_mistakes_are_usage_errors_naming_the_flag(server: RunningServer, tmp_path: Path) -> None:
    url = f"{server.url}/in/stripe"
    cases = [
        (("nope", "x", "--to", url, "--secret", "s"), "unknown scheme 'nope'"),
        (("stripe", "no.such", "--to", url, "--secret", "s"), "no 'no.such' event"),
        (("stripe", "invoice.paid", "--secret", "s"), "--to: required"),
        (("stripe", "invoice.paid", "--to", "ftp://x", "--secret", "s"), "--to: must be"),
        (("stripe", "invoice.paid", "--to", url), "--secret: required"),
        (
            ("stripe", "invoice.paid", "--to", url, "--secret", "env:HOOKYARD_NO_SUCH_VAR"),
            "--secret",
        ),
        (
            ("stripe", "x", "--to", url, "--secret", "s", "--corpus", str(tmp_path / "no")),
            "does not",
        ),
    ]
    for args, text in cases:
        result = CliRunner().invoke(trigger_command, list(args))
        assert isinstance(result.exception, UsageError), (args, result.output)
        assert text in str(result.exception) and result.exception.exit_code == 2


def test_the_cli_exits_2_for_a_mistake_and_1_for_a_refused_send(server: RunningServer) -> None:
    url = f"{server.url}/in/stripe"
    cases = [
        (("stripe", "invoice.paid", "--to", url), 2, "--secret: required"),
        (
            ("stripe", "invoice.paid", "--to", f"http://127.0.0.1:{free_port()}/", "--secret", "s"),
            1,
            "cannot send",
        ),
        (("stripe", "invoice.paid", "--to", url, "--secret", "wrong"), 1, "HTTP 401"),
    ]
    runs = [(trigger(*args), code, text) for args, code, text in cases]
    for run, expected, text in runs:
        code, out, err = finish(run)
        assert code == expected, (text, out, err)
        shown = out if "HTTP" in text else err
        assert text in shown and shown.count("\n") == 1 and "Traceback" not in err, (text, shown)
