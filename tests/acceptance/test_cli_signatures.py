"""``hookyard verify`` and ``hookyard sign`` through the real command line.

Exit codes are the contract: 0 valid, 1 invalid (reason, computed vs received), 2 usage
error as one line on stderr. No secret is ever printed, on any path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
# standard-webhooks/standard-webhooks libraries/go/webhook_asymmetric_test.go
WHSK = "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
WHPK_RAW = "ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g="  # its public key
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = (
    "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag=="
)
STRIPE_SECRET = "whsec_acceptance_secret"
SECRETS = (GH_SECRET, WHSK, STRIPE_SECRET, "hmac-acceptance-secret")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def hookyard(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "hookyard", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    for secret in SECRETS:
        assert secret not in run.out + run.err, "a secret was printed"
    assert "Traceback" not in run.err
    return run


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.txt"
    path.write_bytes(GH_BODY)
    return path


def headers_args(lines: str) -> list[str]:
    args: list[str] = []
    for line in lines.splitlines():
        args += ["--header", line]
    return args


# -- sign -------------------------------------------------------------------------------------


def test_sign_prints_the_provider_headers(body_file: Path) -> None:
    run = hookyard(
        "sign",
        "--scheme",
        "github",
        "--secret",
        GH_SECRET,
        "--id",
        "d-1",
        "--body-file",
        str(body_file),
    )
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "X-GitHub-Delivery: d-1"
    assert f"X-Hub-Signature-256: {GH_SIGNATURE}" in lines


def test_sign_v1a_from_stdin_matches_the_official_vector() -> None:
    run = hookyard(
        "sign",
        "--scheme",
        "standard-webhooks",
        "--secret",
        WHSK,
        "--id",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "--timestamp",
        "1614265330",
        "--body-file",
        "-",
        stdin=SW_BODY,
    )
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp: 1614265330",
        f"webhook-signature: {SW_SIGNATURE}",
    ]


# -- verify: valid and invalid ------------------------------------------------------------------


def test_verify_valid_exits_0(body_file: Path) -> None:
    run = hookyard(
        "verify",
        "--scheme",
        "github",
        "--secret",
        GH_SECRET,
        "--header",
        f"X-Hub-Signature-256: {GH_SIGNATURE}",
        "--header",
        "X-GitHub-Event: ping",
        "--body-file",
        str(body_file),
    )
    assert run.code == 0, run.err
    assert run.out.startswith("valid: sha256 signature matches (key #0)")
    assert "event type: ping" in run.out


def test_verify_invalid_exits_1_with_reason_and_both_signatures(body_file: Path) -> None:
    run = hookyard(
        "verify",
        "--scheme",
        "github",
        "--secret",
        "not the secret",
        "--header",
        f"X-Hub-Signature-256: {GH_SIGNATURE}",
        "--body-file",
        str(body_file),
    )
    assert run.code == 1
    assert run.out.startswith("invalid: signature mismatch")
    assert f"received:   {GH_SIGNATURE}" in run.out
    assert "computed:   sha256=" in run.out
    assert "signed:     13 bytes, sha256 " in run.out


def test_verify_json(body_file: Path) -> None:
    run = hookyard(
        "verify",
        "--scheme",
        "github",
        "--secret",
        "old",
        "--secret",
        GH_SECRET,
        "--header",
        f"X-Hub-Signature-256: {GH_SIGNATURE}",
        "--body-file",
        str(body_file),
        "--json",
    )
    assert run.code == 0, run.err
    verdict = json.loads(run.out)
    assert verdict["status"] == "valid"
    assert verdict["secret_index"] == 1
    assert verdict["computed"] == GH_SIGNATURE
    assert verdict["scheme"] == "github"


@pytest.mark.parametrize("prefix", ["whpk_", ""])
def test_verify_v1a_with_a_public_key(prefix: str, tmp_path: Path) -> None:
    (tmp_path / "b").write_bytes(SW_BODY)
    run = hookyard(
        "verify",
        "--scheme",
        "standard-webhooks",
        "--public-key",
        prefix + WHPK_RAW,
        *headers_args(
            "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n"
            "webhook-timestamp: 1614265330\n"
            f"webhook-signature: {SW_SIGNATURE}"
        ),
        "--at",
        "1614265330",
        "--body-file",
        str(tmp_path / "b"),
    )
    assert run.code == 0, run.out + run.err
    assert run.out.startswith("valid: v1a signature matches")


class TestTimestampWindow:
    ts = 1700000000

    def signed(self, body_file: Path) -> list[str]:
        run = hookyard(
            "sign",
            "--scheme",
            "stripe",
            "--secret",
            STRIPE_SECRET,
            "--timestamp",
            str(self.ts),
            "--body-file",
            str(body_file),
        )
        assert run.code == 0, run.err
        return headers_args(run.out)

    def verify(self, body_file: Path, *extra: str) -> Run:
        return hookyard(
            "verify",
            "--scheme",
            "stripe",
            "--secret",
            STRIPE_SECRET,
            *self.signed(body_file),
            "--body-file",
            str(body_file),
            *extra,
        )

    def test_stale_at_another_time(self, body_file: Path) -> None:
        run = self.verify(body_file, "--at", str(self.ts + 1000))
        assert run.code == 1
        assert "timestamp too old: 1000s before now, tolerance 300s" in run.out

    def test_future(self, body_file: Path) -> None:
        run = self.verify(body_file, "--at", str(self.ts - 1000))
        assert run.code == 1
        assert "timestamp in the future" in run.out

    def test_wider_tolerance(self, body_file: Path) -> None:
        assert self.verify(body_file, "--at", str(self.ts + 1000), "--tolerance", "2000").code == 0

    def test_no_tolerance(self, body_file: Path) -> None:
        assert self.verify(body_file, "--no-tolerance").code == 0


def test_generic_hmac_with_options(body_file: Path) -> None:
    options = [
        "--option",
        "algorithm=sha512",
        "--option",
        "encoding=base64",
        "--option",
        "prefix=sha512=",
        "--option",
        "header=X-Sig",
    ]
    signed = hookyard(
        "sign",
        "--scheme",
        "hmac",
        "--secret",
        "hmac-acceptance-secret",
        *options,
        "--body-file",
        str(body_file),
    )
    assert signed.code == 0, signed.err
    assert signed.out.startswith("X-Sig: sha512=")
    run = hookyard(
        "verify",
        "--scheme",
        "hmac",
        "--secret",
        "hmac-acceptance-secret",
        *options,
        *headers_args(signed.out),
        "--body-file",
        str(body_file),
    )
    assert run.code == 0, run.out + run.err


# -- usage errors: exit 2, one line on stderr ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["verify", "--scheme", "standard-webhooks", "--secret", "whsec_!!"],
            "secret must be base64",
        ),
        (
            ["verify", "--scheme", "standard-webhooks", "--public-key", "AAAA"],
            "public key must be 32 bytes",
        ),
        (
            [
                "sign",
                "--scheme",
                "standard-webhooks",
                "--secret",
                "whpk_" + WHPK_RAW,
                "--body-file",
                "-",
            ],
            "whpk_ keys are public",
        ),
        (
            ["verify", "--scheme", "github", "--secret", GH_SECRET, "--body-file", "BODY"],
            "missing header X-Hub-Signature-256",
        ),
        (
            ["verify", "--scheme", "github", "--secret", GH_SECRET, "--body-file", "/no/such/file"],
            "cannot read body file /no/such/file",
        ),
        (
            ["sign", "--scheme", "github", "--secret", GH_SECRET, "--body-file", "/no/such/file"],
            "cannot read body file /no/such/file",
        ),
        (
            ["verify", "--scheme", "no-such-scheme", "--secret", "x"],
            "unknown scheme 'no-such-scheme'",
        ),
        (
            ["sign", "--scheme", "no-such-scheme", "--secret", "x", "--body-file", "-"],
            "unknown scheme",
        ),
        (
            ["verify", "--scheme", "github", "--secret", "x", "--header", "no colon"],
            "--header must look like 'Name: value'",
        ),
        (["verify", "--scheme", "github"], "give at least one --secret or --public-key"),
        (
            ["verify", "--scheme", "stripe", "--secret", "x", "--at", "1", "--no-tolerance"],
            "--no-tolerance cannot be combined",
        ),
        (
            [
                "sign",
                "--scheme",
                "hmac",
                "--secret",
                "x",
                "--option",
                "algorithm=md5",
                "--body-file",
                "-",
            ],
            "hmac option 'algorithm' must be one of",
        ),
        (
            [
                "sign",
                "--scheme",
                "hmac",
                "--secret",
                "x",
                "--option",
                "nokeyvalue",
                "--body-file",
                "-",
            ],
            "--option must look like key=value",
        ),
        (
            ["sign", "--scheme", "stripe", "--secret", STRIPE_SECRET + " ", "--body-file", "-"],
            "leading or trailing whitespace",
        ),
    ],
)
def test_usage_errors(args: list[str], message: str, body_file: Path) -> None:
    args = [str(body_file) if a == "BODY" else a for a in args]
    run = hookyard(*args)
    assert run.code == 2, run.out + run.err
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("hookyard: error: ")
    assert message in lines[0]


def test_click_level_usage_error_exits_2() -> None:
    run = hookyard("verify", "--secret", "x")
    assert run.code == 2
    assert "--scheme" in run.err


# -- secrets by reference ----------------------------------------------------------------------


def test_verify_and_sign_resolve_env_and_file_secrets(body_file: Path, tmp_path: Path) -> None:
    secret_file = tmp_path / "gh.secret"
    secret_file.write_text(GH_SECRET + "\n")
    env = {**os.environ, "HY_GH_SECRET": GH_SECRET}
    header = f"X-Hub-Signature-256: {GH_SIGNATURE}"
    for ref in ("env:HY_GH_SECRET", f"file:{secret_file}"):
        common = ["--scheme", "github", "--secret", ref, "--body-file", str(body_file)]
        signed = subprocess.run(
            [sys.executable, "-m", "hookyard", "sign", *common, "--id", "d-1"],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert signed.returncode == 0, signed.stderr
        assert header in signed.stdout.decode().splitlines()
        verified = subprocess.run(
            [sys.executable, "-m", "hookyard", "verify", *common, "--header", header],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.decode().startswith("valid: ")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "env:HY_NOT_SET_ANYWHERE",
            "--secret: environment variable HY_NOT_SET_ANYWHERE is not set",
        ),
        ("file:/nonexistent/secret", "--secret: cannot read secret file /nonexistent/secret"),
        ("file:/dev/zero", "--secret: secret file /dev/zero is not a regular file"),
    ],
)
def test_an_unresolvable_secret_is_a_usage_error(body_file: Path, ref: str, message: str) -> None:
    for command in ("sign", "verify"):
        run = hookyard(
            command, "--scheme", "github", "--secret", ref, "--body-file", str(body_file)
        )
        assert run.code == 2, run.err
        lines = run.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hookyard: error: {message}"), run.err
