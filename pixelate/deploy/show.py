"""Tables of the deploy results for notebooks (HTML) and terminals (text); pandas is not a dependency."""
from __future__ import annotations

from html import escape
from typing import Any, Iterable, Mapping, Sequence


def html_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def output_rows(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The string values of a deploy result (the stack outputs, EndpointUrl, Region …), by name."""
    return [(k, v) for k, v in result.items() if isinstance(v, str) and k not in ("Package",)]


def outputs_html(result: Mapping[str, Any]) -> str:
    return html_table(("output", "value"), output_rows(result))

