"""The Jinja2 environment of the dashboard: package templates, autoescaped, with the few
filters the pages share (times, sizes, masked URLs)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from hookyard.inspect.masking import mask_url
from hookyard.timeparse import iso_from_us

HTMX_VERSION = "2.0.11"
#: Pages load only what the package serves: no inline script, no CDN.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _time(micros: int | None) -> str:
    shown = iso_from_us(micros)
    return "" if shown is None else shown.replace("T", " ")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hookyard.dashboard", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _time
    env.filters["size"] = _size
    env.filters["mask_url"] = mask_url
    env.globals["htmx_version"] = HTMX_VERSION
    return env


class Templates:
    def __init__(self) -> None:
        self.env = make_environment()

    def render(self, name: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
        html = self.env.get_template(name).render(context)
        return HTMLResponse(
            html,
            status_code=status,
            headers={
                "content-security-policy": CSP,
                "x-content-type-options": "nosniff",
                "referrer-policy": "same-origin",
                "cache-control": "no-store",
            },
        )
