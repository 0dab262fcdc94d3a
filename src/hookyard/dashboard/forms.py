"""Reading an ``application/x-www-form-urlencoded`` body without a multipart parser.

The dashboard's forms are small (ids, filters, a target); anything larger than
``MAX_FORM_BYTES`` or of another type is refused by the caller with a 413 or 415.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import MultiDict
from starlette.requests import Request

MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


class BadForm(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def read_form(request: Request) -> MultiDict:
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != FORM_TYPE:
        raise BadForm(415, f"send the form as {FORM_TYPE}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm(413, f"a form is at most {MAX_FORM_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadForm(400, "the form is not UTF-8") from None
    try:
        return MultiDict(parse_qsl(text, keep_blank_values=True, max_num_fields=2000))
    except ValueError:
        raise BadForm(413, "a form has at most 2000 fields") from None
