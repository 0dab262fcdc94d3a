"""The battery's results for people and test suites: the report, its table, the assertion."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from hookyard.testing.conformance.checks import CHECK_NAMES
from hookyard.testing.conformance.model import CheckResult


class ConformanceFailure(AssertionError):
    """A receiver failed checks it was expected to pass (or passed ones expected to fail)."""

    # Tracebacks name the package users import from (as docs/conformance.md shows).
    __module__ = "hookyard.testing.conformance"


@dataclass(frozen=True, slots=True)
class Report:
    target: str
    scheme: str
    results: tuple[CheckResult, ...]
    bodies: tuple[str, ...] = ("synthetic",)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "fail")

    @property
    def passed(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "pass")

    @property
    def not_applicable(self) -> frozenset[str]:
        return frozenset(r.check for r in self.results if r.outcome == "n/a")

    def result(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(check)

    def summary(self) -> str:
        return (
            f"{len(self.passed)} passed, {len(self.failed)} failed, "
            f"{len(self.not_applicable)} not applicable ({self.scheme} at {self.target})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "scheme": self.scheme,
            "ok": self.ok,
            "summary": {
                "pass": len(self.passed),
                "fail": len(self.failed),
                "n/a": len(self.not_applicable),
            },
            "bodies": list(self.bodies),
            "checks": [r.as_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def table(self, *, only: Collection[str] | None = None) -> str:
        """A plain-text table (for assertion messages and logs); ``only`` picks checks."""
        rows = [
            (r.check, r.expected, r.got, r.outcome, r.why)
            for r in self.results
            if only is None or r.check in only
        ]
        return format_table(("check", "expected", "got", "result", "why"), rows)

    def assert_conformant(self, *, expect_failures: Collection[str] = ()) -> None:
        """Raise ``ConformanceFailure`` unless exactly ``expect_failures`` failed.

        Listing known gaps keeps a suite green while they exist and turns it red the day
        one is fixed or another appears, so the list stays true.
        """
        __tracebackhide__ = True  # pytest: the failure is the message, not this frame
        unknown = set(expect_failures) - set(CHECK_NAMES)
        if unknown:
            raise ValueError(f"unknown checks in expect_failures: {', '.join(sorted(unknown))}")
        unexpected = self.failed - set(expect_failures)
        missing = set(expect_failures) - self.failed
        if not unexpected and not missing:
            return
        lines = [self.summary()]
        if unexpected:
            lines += ["", "failed:", self.table(only=unexpected)]
        if missing:
            lines += ["", "expected to fail but did not:", self.table(only=missing)]
        raise ConformanceFailure("\n".join(lines))


def assert_conformant(report: Report, *, expect_failures: Collection[str] = ()) -> None:
    """Fail unless exactly ``expect_failures`` failed; the message is the table of rows."""
    __tracebackhide__ = True
    report.assert_conformant(expect_failures=expect_failures)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    widths[-1] = 0  # the last column (why) is not padded: it is free text
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]
    return "\n".join(lines)
