"""The local edge: CloudFront and API Gateway on one port of 127.0.0.1.

- ``/api/...`` goes to the api function's handler as an API Gateway HTTP API (payload 2.0) event,
- ``/pixelated/...`` and ``/status/...`` are served from the processed bucket as CloudFront would serve
  them (the object's Content-Type, Cache-Control, ETag and Last-Modified; ``If-None-Match``; HEAD; 404),
- anything else is the upload page, from the ``pixelate/web`` folder of the package.

It runs in a child process (``Edge``, ``python -m pixelate.local.edge``), whose environment is the api
function's, as a Lambda instance's is. The child binds its socket first and reports the port, so the stack
can deploy with the edge's URL as the public base URL; then it receives the api function's settings and
starts answering.
"""
from __future__ import annotations

import base64
import json
import mimetypes
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

#: Path prefixes served from the processed bucket (the distribution's S3 origin).
OBJECT_PREFIXES = ("/pixelated/", "/status/")
API_PREFIX = "/api"
#: The template's one HTTP API route (``HttpApiRoute``): every event carries it, and ``{proxy+}`` is a path parameter.
ROUTE_KEY = "ANY /api/{proxy+}"
HEALTH_PATH = "/_local/health"
#: Content types API Gateway hands to a function as text rather than base64.
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml", "application/javascript")


@dataclass(frozen=True)
class EdgeConfig:
    endpoint_url: str
    region: str
    processed_bucket: str
    web_folder: str
    api_handler: str | None  # "pixelate.api.lambda_handler", or None when the stack has no api function
    api_environment: dict[str, str] = field(default_factory=dict)
    api_function_name: str = "api"


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


def is_text(content_type: str) -> bool:
    return content_type.lower().startswith(TEXT_TYPES)


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
    protocol_version = "HTTP/1.1"
    config: EdgeConfig
    api: Callable | None = None
    s3: Any = None

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
        body = self.read_body()  # always read: an unread body would garble the next request on this connection
        try:
            if path == HEALTH_PATH:
                self.send(200, [("Content-Type", "application/json")], b'{"ok": true}')
            elif path.startswith(API_PREFIX + "/") and len(path) > len(API_PREFIX) + 1:
                self.serve_api(path, query, body)
            elif path in (API_PREFIX, API_PREFIX + "/"):  # no route matches: API Gateway's own 404
                self.send(404, [("Content-Type", "application/json")], b'{"message":"Not Found"}')
            elif path.startswith(OBJECT_PREFIXES):
                self.serve_object(path)
            else:
                self.serve_static(path)
        except BrokenPipeError:
            pass
        except Exception as exc:  # the edge answers 502 as CloudFront does when its origin fails
            self.send(502, [("Content-Type", "application/json")], json.dumps({"message": f"origin error: {exc}"}).encode())

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def serve_api(self, path: str, query: str, body: bytes) -> None:
        if self.api is None:
            self.send(404, [("Content-Type", "application/json")], b'{"message": "Not Found"}')
            return
        event = http_api_event(
            self.command, path, query, dict(self.headers.items()), body,
            source_ip=self.client_address[0], domain=self.headers.get("Host", "127.0.0.1"),
        )
        result = self.api(event, ApiContext(self.config.api_function_name))
        self.send(*http_api_response(result))

    def serve_object(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send(403, [("Content-Type", "text/plain")], b"method not allowed on the distribution's S3 origin")
            return
        from botocore.exceptions import ClientError

        key = unquote(path.lstrip("/"))
        request = {"Bucket": self.config.processed_bucket, "Key": key}
        if self.headers.get("If-None-Match"):
            request["IfNoneMatch"] = self.headers["If-None-Match"]
        try:
            answer = self.s3.head_object(**request) if self.command == "HEAD" else self.s3.get_object(**request)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            code = exc.response.get("Error", {}).get("Code", "")
            if status == 304 or code in ("304", "NotModified"):
                self.send(304, [("ETag", request["IfNoneMatch"])], b"")
            elif status == 404 or code in ("404", "NoSuchKey", "NotFound"):
                self.send(404, [("Content-Type", "text/plain"), ("Cache-Control", "no-store")], b"Not Found\n")
            else:
                raise
            return
        body = answer["Body"].read() if "Body" in answer else b""
        headers = [("Content-Type", answer.get("ContentType") or "application/octet-stream")]
        for header, field_name in (("Cache-Control", "CacheControl"), ("ETag", "ETag")):
            if answer.get(field_name):
                headers.append((header, answer[field_name]))
        if answer.get("LastModified"):
            headers.append(("Last-Modified", formatdate(answer["LastModified"].timestamp(), usegmt=True)))
        headers.append(("X-Cache", "Miss from pixelate-local-edge"))
        self.send(200, headers, body, length=answer.get("ContentLength", len(body)))

    def serve_static(self, path: str) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send(405, [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")], b"Method Not Allowed\n")
            return
        file = static_file(self.config.web_folder, path)
        if file is None:
            self.send(404, [("Content-Type", "text/plain")], b"Not Found\n")
            return
        # no-cache: the page changes while people work on it; the images are the long-lived part
        self.send(200, [("Content-Type", content_type_of(file)), ("Cache-Control", "no-cache")], file.read_bytes())

    def send(self, status: int, headers: list[tuple[str, str]], body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD" and status != 304:
            self.wfile.write(body)


class ApiContext:
    """Enough of a Lambda context for the api function (Powertools reads these names)."""

    def __init__(self, function_name: str):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self._deadline = time.monotonic() + 29  # API Gateway's integration timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def configure(handler_class: type[EdgeHandler], config: EdgeConfig) -> None:
    """Set the api function's environment in this process, then load its handler and an S3 client."""
    from pixelate.local.runner import FAKE_CREDENTIALS, aws_client, load_handler

    os.environ.update({
        **config.api_environment,
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL": config.endpoint_url,
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_LAMBDA_FUNCTION_NAME": config.api_function_name,
    })
    handler_class.config = config
    handler_class.s3 = aws_client("s3", config.endpoint_url, config.region)
    # staticmethod: a plain function stored on the class would be bound to the request handler instance
    handler_class.api = staticmethod(load_handler(config.api_handler)) if config.api_handler else None


def edge_main(host: str, port: int) -> None:
    """Child entry (``python -m pixelate.local.edge``): bind, report the port on stdout, read the config
    from stdin, report ready, serve until SIGTERM or until stdin closes (the parent is gone)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which stops us in order
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the api handler's logs go to the log file, never into the channel

    def say(**message: Any) -> None:
        channel.write(json.dumps(message) + "\n")

    handler_class = type("BoundEdgeHandler", (EdgeHandler,), {})
    try:
        server = ThreadingHTTPServer((host, port), handler_class)
    except OSError as exc:
        say(error=f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        return
    server.daemon_threads = True
    say(port=server.server_address[1])
    try:
        configure(handler_class, EdgeConfig(**json.loads(sys.stdin.readline())))
    except Exception as exc:
        say(error=f"cannot load the api function: {type(exc).__name__}: {exc}")
        return
    say(ready=True)

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
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
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pixelate.local.edge", "--host", self.host, "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1,
            start_new_session=True,  # Ctrl-C reaches the parent only, which stops its children in order
        )
        if log is not subprocess.DEVNULL:
            log.close()
        answer = self._read(timeout)
        if "port" not in answer:
            self.stop()
            raise RuntimeError(f"the local edge did not start: {answer.get('error', 'no answer')}")
        self.port = answer["port"]
        return self.url

    def _read(self, timeout: float) -> dict:
        """The child's next message (a JSON line on its stdout), or {} on timeout or exit."""
        result: dict = {}

        def read() -> None:
            line = self.process.stdout.readline()
            if line:
                result.update(json.loads(line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        return result

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def configure(self, config: EdgeConfig, timeout: float = 60.0) -> None:
        self.process.stdin.write(json.dumps(asdict(config)) + "\n")
        self.process.stdin.flush()
        answer = self._read(timeout)
        if not answer.get("ready"):
            raise RuntimeError(f"the local edge is not ready: {answer.get('error', 'no answer')}")

    def stop(self, timeout: float = 3.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="the local edge of the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    edge_main(arguments.host, arguments.port)
