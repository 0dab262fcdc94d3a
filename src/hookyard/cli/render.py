"""Terminal renderers for stored requests: ``rich`` tables and syntax for headers and bodies.

The values come from ``hookyard.inspect`` (masked headers, pretty bodies); this module
only lays them out for a terminal, every text already made safe.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from hookyard.inspect.bodies import PrettyBody
from hookyard.inspect.masking import mask_headers
from hookyard.inspect.text import safe_text
from hookyard.models import HeaderList


def render_headers(headers: HeaderList) -> Table:
    """A two-column table of masked headers, safe for a terminal."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("header", style="cyan", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in mask_headers(headers):
        table.add_row(
            Text(safe_text(name, multiline=False)), Text(safe_text(value, multiline=False))
        )
    return table


def render_body(pretty: PrettyBody) -> RenderableType:
    """A ``rich`` renderable for :func:`pretty_body`'s result."""
    parts: list[RenderableType] = [Text(note, style="dim italic") for note in pretty.notes]
    if pretty.kind == "empty":
        parts.append(Text("(empty body)", style="dim"))
    elif pretty.kind in ("json", "xml"):
        parts.append(Syntax(pretty.text, pretty.kind, word_wrap=True, background_color="default"))
    elif pretty.kind == "form":
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("field", style="cyan")
        table.add_column("value", overflow="fold")
        for key, value in pretty.fields:
            table.add_row(Text(key), Text(value))
        parts.append(table)
    else:
        parts.append(Text(pretty.text))
    return Group(*parts)


def print_table(table: Table, console: Console | None = None) -> None:
    """Print ``table`` at least as wide as it needs to be whole: a terminal narrower than
    its never-cut columns (ids) gets longer lines, which it wraps, never a cropped id."""
    console = console or Console()
    # Measured without the terminal's bound, which would clamp the answer to it.
    needed = Measurement.get(console, console.options.update_width(10_000), table).minimum
    if needed > console.width:
        console = Console(width=needed, highlight=False)
    console.print(table)
