"""The local edge: CloudFront and API Gateway on one port of 127.0.0.1.

- ``/api/...`` goes to the api function's handler as an API Gateway HTTP API (payload 2.0) event,
- ``/pixelated/...`` and ``/status/...`` are served from the processed bucket as CloudFront would serve
  them (the object's Content-Type, Cache-Control, ETag and Last-Modified; ``If-None-Match``; HEAD; 404),
- anything else is the upload page, from the ``pixelate/web`` folder of the package.

Every answer carries the security headers of ``pixelate.deploy.security_headers`` (the page's
Content-Security-Policy names moto's URL, where the browser POSTs uploads; results and status records are served
with ``sandbox``), and what the edge refuses before reading a request (a foreign ``Host``, a body too large or
malformed, a half-sent request) is in ``edge_guard``. An error of the origin is a bare 502 (logged to the edge's
log, never echoed).

It runs in a child process (``Edge``, ``python -m pixelate.local.edge``), whose environment is the api
function's, as a Lambda instance's is. The child binds its socket first and reports the port, so the stack
can deploy with the edge's URL as the public base URL; then it receives the api function's settings and
starts answering.
"""
from __future__ import annotations

import base64
import json
import mimetypes
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

from pixelate.deploy.security_headers import COMMON_HEADERS, origin_of, page_headers, result_headers
from pixelate.local import child, edge_guard, lambda_sim
from pixelate.local.child import Channel
from pixelate.local.lambda_sim import FunctionSettings, LambdaContext, moto_client
from pixelate.service.api import is_text  # (which bodies API Gateway passes as text: one list for both)

#: Path prefixes served from the processed bucket (the distribution's S3 origin).
OBJECT_PREFIXES = ("/pixelated/", "/status/")
API_PREFIX = "/api"
#: API Gateway's own answer to a path under /api with no route (before any function runs)
API_NOT_FOUND = b'{"message":"Not Found"}'
#: The template's one HTTP API route (``HttpApiRoute``): every event carries it, and ``{proxy+}`` is a path parameter.
ROUTE_KEY = "ANY /api/{proxy+}"
HEALTH_PATH = "/_local/health"
#: API Gateway's integration timeout: the api function gets at most this long, whatever its own timeout.
INTEGRATION_TIMEOUT_S = 29


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag``: ``*``, or a list of entity tags compared weakly (``W/"x"``
    matches ``"x"``), as RFC 9110 has it for GET and HEAD."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


def cache_headers(answer: dict) -> list[tuple[str, str]]:
    """An object's caching headers: its Cache-Control and Last-Modified."""
    headers = [("Cache-Control", answer["CacheControl"])] if answer.get("CacheControl") else []
    if answer.get("LastModified"):
        headers.append(("Last-Modified", formatdate(answer["LastModified"].timestamp(), usegmt=True)))
    return headers


@dataclass(frozen=True)
class EdgeConfig:
    endpoint_url: str
    region: str
    processed_bucket: str
    web_folder: str
    api: FunctionSettings | None = None  # the function behind the HTTP API, or None when the stack has none
    idle_timeout_s: float = edge_guard.IDLE_TIMEOUT_S

    @classmethod
    def from_dict(cls, data: dict) -> "EdgeConfig":
        api = data.get("api")
        return cls(**{**data, "api": FunctionSettings(**api) if api else None})


# --- API Gateway HTTP API, payload format 2.0 (pure) ------------------------------------------------------


def http_api_event(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str = "127.0.0.1",
    domain: str = "127.0.0.1",
) -> dict:
    """The event API Gateway's HTTP API gives a Lambda proxy integration for one request."""
    headers = {name.lower(): value for name, value in headers.items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "time": datetime.fromtimestamp(now, timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    proxy = raw_path[len(API_PREFIX) + 1:] if raw_path.startswith(API_PREFIX + "/") else ""
    if proxy:
        event["pathParameters"] = {"proxy": unquote(proxy)}
    query = query_parameters(raw_query)
    if query:
        event["queryStringParameters"] = query
    if body:
        if is_text(headers.get("content-type", "")):
            event["body"] = body.decode("utf-8", errors="replace")
        else:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def query_parameters(raw_query: str) -> dict[str, str]:
    """HTTP API joins repeated parameters with commas."""
    merged: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        merged.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in merged.items()}


def http_api_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A function's answer to (status, headers, body), by the rules of payload format 2.0.

    A dict with ``statusCode`` is taken as it is; anything else is sent as JSON with status 200.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return int(result["statusCode"]), headers, data


# --- static files (pure) ------------------------------------------------------------------------------------


def static_file(web_folder: str, path: str) -> Path | None:
    """The file under ``web_folder`` that ``path`` names (``/`` is index.html), or None; never outside it."""
    root = Path(web_folder).resolve()
    relative = unquote(path).lstrip("/") or "index.html"
    candidate = (root / relative).resolve()
    if candidate.is_dir():
        candidate = candidate / "index.html"
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def content_type_of(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind in ("application/javascript", "application/json") else kind


# --- the server ---------------------------------------------------------------------------------------------


class EdgeHandler(BaseHTTPRequestHandler):
    server_version = "pixelate-local-edge"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    config: EdgeConfig
    api: Callable | None = None
    s3: Any = None
    timeout = edge_guard.IDLE_TIMEOUT_S  # every socket read (StreamRequestHandler applies it)
    hosts: frozenset[str] = frozenset()
    page_security: dict[str, str] = {}

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the progress view owns the terminal
        pass

    def do_GET(self) -> None:
        self.route()

    def do_HEAD(self) -> None:
        self.route()

    def do_POST(self) -> None:
        self.route()

    def do_PUT(self) -> None:
        self.route()

    def do_DELETE(self) -> None:
        self.route()

    def do_PATCH(self) -> None:
        self.route()

    def do_OPTIONS(self) -> None:
        self.route()

    def route(self) -> None:
        path, _, query = self.path.partition("?")
        try:
            edge_guard.check_host(self.headers.get("Host"), self.hosts)
            length = edge_guard.body_length(self.headers)
        except edge_guard.Refusal as refusal:
            self.close_connection = True  # the body, if any, is not read: nothing more can be read here
            if path.startswith(API_PREFIX + "/"):  # API Gateway's own refusals are JSON {"message": ...}
                self.send(refusal.status, [("Content-Type", "application/json")], json.dumps({"message": refusal.message}).encode())
            else:
                self.send(refusal.status, [("Content-Type", "text/plain; charset=utf-8")], (refusal.message + "\n").encode())
            return
        try:
            # always read: an unread body would garble the next request on this connection
            body = self.rfile.read(length) if length else b""
        except OSError:  # the idle timeout (a half-sent body) or a reset: nothing to answer
            self.close_connection = True
            return
        if len(body) < length:  # the client closed before sending it all
            self.close_connection = True
            return
        try:
            if path == HEALTH_PATH:
                self.send(200, [("Content-Type", "application/json")], b'{"ok": true}')
            elif path.startswith(API_PREFIX + "/") and len(path) > len(API_PREFIX) + 1:
                self.serve_api(path, query, body)
            elif path in (API_PREFIX, API_PREFIX + "/"):  # no route matches: API Gateway's own 404
                self.send(404, [("Content-Type", "application/json")], API_NOT_FOUND)
            elif path.startswith(OBJECT_PREFIXES):
                self.serve_object(path)
            else:
                self.serve_static(path)
        except BrokenPipeError:
            pass
        except Exception:  # the edge answers 502 as CloudFront does when its origin fails; details go to the log only
            print(f"origin error on {self.command} {path}:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            self.send(502, [("Content-Type", "application/json")], b'{"message":"Bad Gateway"}')

    def serve_api(self, path: str, query: str, body: bytes) -> None:
        if self.api is None:
            self.send(404, [("Content-Type", "application/json")], API_NOT_FOUND)
            return
        event = http_api_event(
            self.command, path, query, dict(self.headers.items()), body,
            source_ip=self.client_address[0], domain=self.headers.get("Host", "127.0.0.1"),
        )
        # API Gateway gives up after 29 s, whatever the function's own timeout
        result = self.api(event, LambdaContext(self.config.api, self.config.region, timeout_s=INTEGRATION_TIMEOUT_S))
        self.send(*http_api_response(result))

    def serve_object(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send(403, [("Content-Type", "text/plain")], b"method not allowed on the distribution's S3 origin")
            return
        from botocore.exceptions import ClientError

        from pixelate.service.aws import is_not_found

        key = unquote(path.lstrip("/"))
        request = {"Bucket": self.config.processed_bucket, "Key": key}
        conditional = self.headers.get("If-None-Match")
        try:
            head = self.s3.head_object(**request) if conditional or self.command == "HEAD" else None
            if head is not None and etag_matches(conditional, head.get("ETag", "")):
                # as CloudFront answers: the validators and the caching rules again, no body
                self.send(304, [("ETag", head["ETag"]), *cache_headers(head)], b"")
                return
            answer = head if self.command == "HEAD" else self.s3.get_object(**request)
        except ClientError as exc:
            if is_not_found(exc):
                self.send(404, [("Content-Type", "text/plain"), ("Cache-Control", "no-store")], b"Not Found\n")
                return
            raise
        body = answer["Body"].read() if "Body" in answer else b""
        headers = [("Content-Type", answer.get("ContentType") or "application/octet-stream"), *cache_headers(answer)]
        if answer.get("ETag"):
            headers.append(("ETag", answer["ETag"]))
        headers.append(("X-Cache", "Miss from pixelate-local-edge"))
        headers += list(result_headers().items())
        self.send(200, headers, body, length=answer.get("ContentLength", len(body)))

    def serve_static(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send(405, [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")], b"Method Not Allowed\n")
            return
        if self.headers.get("Host", "").strip().lower().startswith("localhost:"):
            # uploads are allowed from one origin (the bucket's CORS): send the page to it
            self.send(308, [("Location", f"http://127.0.0.1:{self.server.server_address[1]}{self.path}")], b"")
            return
        file = static_file(self.config.web_folder, path)
        if file is None:
            self.send(404, [("Content-Type", "text/plain")], b"Not Found\n")
            return
        # no-cache: the page changes while people work on it; the images are the long-lived part
        headers = [("Content-Type", content_type_of(file)), ("Cache-Control", "no-cache"), *self.page_security.items()]
        self.send(200, headers, file.read_bytes())

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        for name, value in COMMON_HEADERS.items():  # on every answer, the API's and errors included
            if name.lower() not in names:
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if status != 304:  # (a 304 has no body, and no length unless the 200's: RFC 9110, 8.6)
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)


class BoundedThreadingHTTPServer(ThreadingHTTPServer):
    """A thread per connection, at most ``edge_guard.MAX_CONNECTIONS`` at once: more are closed at once."""

    daemon_threads = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(edge_guard.MAX_CONNECTIONS)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def configure(handler_class: type[EdgeHandler], config: EdgeConfig, host: str = "127.0.0.1", port: int = 0) -> None:
    """Make this process an instance of the api function (its environment, its handler) with an S3 client, that
    answers for ``host:port`` only."""
    handler_class.config = config
    handler_class.timeout = config.idle_timeout_s
    handler_class.hosts = edge_guard.allowed_hosts(host, port)
    # the browser POSTs uploads to moto's URL (the presigned POST's url): the page may connect there, nowhere else
    handler_class.page_security = page_headers("local", [origin_of(config.endpoint_url)])
    handler_class.s3 = moto_client("s3", config.endpoint_url, config.region)
    api = lambda_sim.become_instance(config.api, config.endpoint_url, config.region) if config.api else None
    # staticmethod: a plain function stored on the class would be bound to the request handler instance
    handler_class.api = staticmethod(api) if api else None


def edge_main(host: str, port: int) -> None:
    """Child entry (``python -m pixelate.local.edge``): bind, report the port, read the config from the
    parent, report ready, serve until SIGTERM or until stdin closes (the parent is gone)."""
    import signal

    channel = Channel()
    handler_class = type("BoundEdgeHandler", (EdgeHandler,), {})
    try:
        server = BoundedThreadingHTTPServer((host, port), handler_class)
    except OSError as exc:
        channel.say(error=f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return
    channel.say(port=server.server_address[1])
    try:
        configure(handler_class, EdgeConfig.from_dict(channel.read()), host, server.server_address[1])
    except Exception as exc:
        channel.say(error=f"cannot load the api function: {type(exc).__name__}: {exc}")
        return
    channel.say(ready=True)
    channel.until_parent_gone(server.shutdown)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever(poll_interval=0.2)


class Edge:
    """The edge child process: ``start()`` binds and returns the URL; ``configure()`` makes it answer."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", log_path: str | None = None):
        self.host = host
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> str:
        self.process = child.spawn("pixelate.local.edge", ["--host", self.host, "--port", str(self.port)], self.log_path)
        answer = child.receive(self.process, timeout)
        if "port" not in answer:
            self.stop()
            raise RuntimeError(f"the local edge did not start: {answer.get('error', 'no answer')}")
        self.port = answer["port"]
        return self.url

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def configure(self, config: EdgeConfig, timeout: float = 60.0) -> None:
        child.send(self.process, asdict(config))
        answer = child.receive(self.process, timeout)
        if not answer.get("ready"):
            raise RuntimeError(f"the local edge is not ready: {answer.get('error', 'no answer')}")

    def stop(self, timeout: float = 3.0) -> None:
        child.stop(self.process, timeout)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the local edge of the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    edge_main(arguments.host, arguments.port)
