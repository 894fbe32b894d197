"""moto's server in a child process on 127.0.0.1: start it, wait until it answers, stop it.

A child process rather than a thread of ours: moto keeps all its state in module globals and holds the GIL
while it works, so the runner and the edge stay responsive, and two stacks side by side never share state.
The child runs ``python -m pixelate.local.moto_server`` which binds the port (0 picks a free one) and tells
the parent the port it got on its first line of output; it exits when its stdin closes, so it can never
outlive a parent that was killed.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from pixelate.deploy.stackfile import answers
from pixelate.local import child

READY_TIMEOUT_S = 30.0


@dataclass
class MotoServer:
    """A running moto server child: its URL and process."""

    url: str
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        child.stop(self.process, timeout)


def start(port: int = 0, host: str = "127.0.0.1", env: dict[str, str] | None = None,
          log_path: str | None = None) -> MotoServer:
    """Start moto's server on ``host:port`` (0: a free port) and return once it answers HTTP."""
    child_env = dict(os.environ if env is None else env)
    # Off, moto's global CORS answers every origin, so that any web page open in the browser could read the
    # originals (moto checks no signature). With it off, moto applies each bucket's own CORS rules: the originals
    # bucket's, from the template (AllowedUploadOrigin: the edge's URL), let the page POST uploads, nothing more.
    child_env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    process = child.spawn("pixelate.local.moto_server", ["--host", host, "--port", str(port)], log_path, child_env)
    answer = child.receive(process, READY_TIMEOUT_S)
    if "url" not in answer:
        child.stop(process)
        raise RuntimeError(f"moto server did not start on {host}:{port} (exit code {process.poll()})")
    server = MotoServer(url=answer["url"], process=process)
    try:
        wait_until_answers(server.url + "/moto-api/", READY_TIMEOUT_S)
    except Exception:
        server.stop()
        raise
    return server


def moto_answers(endpoint_url: str) -> bool:
    """Whether a moto server answers at ``endpoint_url`` (its own API path, which every moto has)."""
    return answers(endpoint_url.rstrip("/") + "/moto-api/")


def wait_until_answers(url: str, timeout: float) -> None:
    """Poll ``url`` until any HTTP answer arrives, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while not answers(url):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.05)


def _serve(host: str, port: int) -> None:
    import logging
    import signal
    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from pixelate.local.moto_cors import BucketPostCors, moto_bucket_rules

    channel = child.Channel()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # errors only: the workers poll every second
    # moto's own ThreadedMotoServer, with the one CORS answer moto leaves out added around its app (moto_cors)
    app = BucketPostCors(DomainDispatcherApplication(create_backend_app), moto_bucket_rules)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="moto").start()
    bound_host, bound_port = server.server_address[:2]
    channel.say(url=f"http://{bound_host}:{bound_port}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    channel.until_parent_gone(stop.set)  # stdin closes when the parent goes away, whichever way it dies
    stop.wait()
    # No graceful shutdown: long polls in flight would hold it up, and the state dies with us anyway.
    os._exit(0)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="moto's server on loopback, for the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    _serve(args.host, args.port)
