"""Signature verification throughput: verifications per second per scheme, on one core.

Usage: ./run bench signatures [--seconds 0.3] [--repeat 3] [--sizes 1024,65536]

Every scheme in the registry that imports is measured, so schemes added later show up
without touching this file. For each scheme the runner finds a key format and body shape
its ``sign`` accepts and its ``verify`` judges valid (plain secret, ``whsec_``, ed25519
``whsk_``/``whpk_``, ECDSA P-256), then times ``verify`` alone on that signed request.
Keys are fixed, so runs are comparable. Baseline rows time the bare primitive on the
same bytes: an HMAC scheme close to its baseline is bound by hashing, not by parsing.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import cryptography
from cryptography.hazmat.backends.openssl.backend import backend as openssl_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hookyard.signatures.base import Scheme, SignedMessage
from hookyard.signatures.registry import scheme_class, scheme_names

TS = 1_700_000_000
URL = "https://hooks.example.com/in/bench"
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
PLAIN_SECRET = "bench-secret-0123456789abcdef"
HMAC_KEY = b"bench-hmac-key-of-32-bytes-long!"
SEED = b"bench-ed25519-seed-32-bytes-long"
EC_PRIVATE_VALUE = 0x5EC2E7_BE4C4_1D0E5_C0FFEE


@dataclass(frozen=True)
class KeyForm:
    label: str
    sign_with: str
    verify_with: str
    #: Forms not worth measuring once this one works (a whsec_ string is just another
    #: plain secret to a scheme that takes any string).
    covers: tuple[str, ...] = ()


def key_forms() -> list[KeyForm]:
    """The key formats the schemes in the registry use, fixed so runs are comparable."""
    ed_private = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    ed_public = ed_private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    ec_private = ec.derive_private_key(EC_PRIVATE_VALUE, ec.SECP256R1())
    ec_pem = ec_private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    ec_public_der = ec_private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    whsec = "whsec_" + base64.b64encode(HMAC_KEY).decode()
    return [
        KeyForm("secret", PLAIN_SECRET, PLAIN_SECRET, covers=("whsec (v1)",)),
        KeyForm("whsec (v1)", whsec, whsec),
        KeyForm(
            "whpk (v1a)",
            "whsk_" + base64.b64encode(SEED).decode(),
            "whpk_" + base64.b64encode(ed_public).decode(),
        ),
        KeyForm("P-256", ec_pem, base64.b64encode(ec_public_der).decode()),
    ]


def json_body(size: int) -> bytes:
    head = b'{"id":"evt_bench","type":"order.created","data":{"pad":"'
    tail = b'"}}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def form_body(size: int) -> bytes:
    head = b"AccountSid=AC0123&From=%2B15550001111&Body="
    return head + b"x" * max(0, size - len(head))


@dataclass(frozen=True)
class Fixture:
    scheme: Scheme
    key: KeyForm
    shape: str
    message: SignedMessage


def signed_valid(scheme: Scheme, key: KeyForm, body: bytes) -> SignedMessage | None:
    """A request ``scheme`` signs with ``key`` and judges valid, or None."""
    try:
        headers = scheme.sign(body, key.sign_with, msg_id=MSG_ID, timestamp=TS, url=URL)
        message = SignedMessage.from_text_headers(headers, body, URL)
        verdict = scheme.verify(message, [key.verify_with], now=TS, tolerance=None)
    except Exception:  # this key form or body shape is not the scheme's
        return None
    return message if verdict.status == "valid" else None


def fixture(name: str, key: KeyForm, size: int) -> Fixture | None:
    """The first body shape ``name`` accepts with ``key``, or None."""
    try:
        scheme = scheme_class(name)()
    except Exception:  # a scheme that does not import or construct is reported, not fatal
        return None
    for shape, body in (("json", json_body(size)), ("form", form_body(size))):
        message = signed_valid(scheme, key, body)
        if message is not None:
            return Fixture(scheme, key, shape, message)
    return None


def verifier(fix: Fixture) -> Callable[[], object]:
    scheme, message, keys = fix.scheme, fix.message, [fix.key.verify_with]
    return lambda: scheme.verify(message, keys, now=TS)


def per_second(call: Callable[[], object], seconds: float, repeat: int) -> float:
    """Best of ``repeat`` timed runs of about ``seconds`` each, in calls per second."""
    loops = 1
    while True:  # calibrate so one run lasts about ``seconds``
        start = time.perf_counter()
        for _ in range(loops):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= 0.05:
            break
        loops *= 2
    loops = max(1, int(loops * seconds / elapsed))
    best = 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            call()
        best = max(best, loops / (time.perf_counter() - start))
    return best


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core}"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def baselines(size: int) -> dict[str, Callable[[], object]]:
    body = json_body(size)
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    ed_sig = ed_key.sign(body)
    ed_public = ed_key.public_key()
    ec_key = ec.derive_private_key(EC_PRIVATE_VALUE, ec.SECP256R1())
    ec_sig = ec_key.sign(body, ec.ECDSA(hashes.SHA256()))
    ec_public = ec_key.public_key()
    return {
        "baseline: HMAC-SHA1": lambda: hmac.digest(HMAC_KEY, body, "sha1"),
        "baseline: HMAC-SHA256": lambda: hmac.digest(HMAC_KEY, body, "sha256"),
        # What an HMAC scheme must do: the HMAC plus the SHA-256 that describes what was signed.
        "baseline: HMAC-SHA256 + SHA-256": lambda: (
            hmac.digest(HMAC_KEY, body, "sha256"),
            hashlib.sha256(body).hexdigest(),
        ),
        "baseline: ed25519 verify": lambda: ed_public.verify(ed_sig, body),
        "baseline: ECDSA P-256 verify": lambda: ec_public.verify(
            ec_sig, body, ec.ECDSA(hashes.SHA256())
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--sizes", default="1024,65536", help="body sizes in bytes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    pinning = pin_to_one_core()
    print(f"hookyard signature verification, {pinning}; {cpu_model()}")
    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{openssl_backend.openssl_version_text()}"
    )
    print(f"best of {args.repeat} runs of {args.seconds}s; verifications per second\n")

    columns = [f"{size // 1024} KiB/s" if size >= 1024 else f"{size} B/s" for size in sizes]
    rows: list[list[str]] = []
    skipped: list[str] = []
    for name in scheme_names():
        if name == "none":
            continue  # not signed: nothing to verify
        found_any = False
        covered: set[str] = set()
        for key in key_forms():
            if key.label in covered:
                continue
            fixtures = [fixture(name, key, size) for size in sizes]
            if not all(fixtures):
                continue
            found_any = True
            covered.update(key.covers)
            rates = []
            for fix in fixtures:
                assert fix is not None
                rates.append(per_second(verifier(fix), args.seconds, args.repeat))
            shape = fixtures[0].shape if fixtures[0] else ""
            rows.append([name, key.label, shape, *(f"{r:,.0f}" for r in rates)])
        if not found_any:
            skipped.append(name)
    for label, _ in baselines(sizes[0]).items():
        rates = [per_second(baselines(size)[label], args.seconds, args.repeat) for size in sizes]
        rows.append([label, "", "", *(f"{r:,.0f}" for r in rates)])

    header = ["scheme", "key", "body", *columns]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        cells = [
            cell.ljust(width) if i < 3 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    if skipped:
        print(f"\nnot measured (unavailable, or no sign/verify pair found): {', '.join(skipped)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
