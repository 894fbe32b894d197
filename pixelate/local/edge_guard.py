"""What the local edge refuses before it reads a request, and the limits it keeps (pure, no sockets).

CloudFront and API Gateway stand in front of the service on AWS; locally the edge is ``http.server``, which
by itself reads any body it is told to, waits forever for the rest of a half-sent request, and answers any
``Host``. The edge keeps ``http.server`` (measured: it serves the page, the API and the images of the browser
tests and the load test; a server library would add a dependency for what these few explicit limits give) and
sets them here:

- **Host** (DNS rebinding): a page on another site whose name is made to resolve to 127.0.0.1 still sends its
  own name in ``Host``; only the edge's own ``host:port``, ``127.0.0.1:port`` and ``localhost:port`` are
  answered, anything else gets 421 (no ``Host`` at all: 400).
- **Body**: ``Content-Length`` must be a decimal number of at most ``MAX_BODY_BYTES`` (API Gateway's payload
  limit for an HTTP API): 400 for ``-1`` or ``abc``, 413 for more, answered at once without reading a byte, and
  the connection closed; a chunked body (which ``http.server`` cannot read) gets 411.
- **Time**: every read of a socket waits at most ``IDLE_TIMEOUT_S``: a half-sent request or an idle
  keep-alive connection is closed after that.
- **Connections**: at most ``MAX_CONNECTIONS`` at once (a thread each); more are closed at once.
"""
from __future__ import annotations

from typing import Mapping

#: API Gateway's payload limit for an HTTP API (10 MB): the largest body the edge reads.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: How long a socket read may wait: generous for a browser on loopback, short for a half-sent request.
IDLE_TIMEOUT_S = 10.0
#: Connections served at once, each on a thread of its own.
MAX_CONNECTIONS = 64


class Refusal(Exception):
    """A request answered with ``status`` before its body is read; the connection is closed after it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values the edge answers: its own address, and the loopback names, with its port."""
    return frozenset({f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"})


def check_host(value: str | None, allowed: frozenset[str]) -> None:
    if not value:
        raise Refusal(400, "a Host header is required")
    if value.strip().lower() not in allowed:
        raise Refusal(421, "this server answers only for its own address")


def body_length(headers: Mapping[str, str], max_bytes: int = MAX_BODY_BYTES) -> int:
    """The declared body length, checked; 0 when the request declares none."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        raise Refusal(411, "send a Content-Length: chunked bodies are not accepted")
    values = headers.get_all("Content-Length") if hasattr(headers, "get_all") else None
    if values and len(values) > 1:
        raise Refusal(400, "one Content-Length, please")
    value = headers.get("Content-Length")
    if value is None:
        return 0
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Refusal(400, "Content-Length must be a whole number of bytes")
    length = int(text)
    if length > max_bytes:
        raise Refusal(413, f"the body is larger than {max_bytes} bytes")
    return length
