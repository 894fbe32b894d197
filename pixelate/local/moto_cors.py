"""The one CORS answer moto leaves out once its global CORS is off: the browser's presigned POST.

With ``MOTO_DISABLE_GLOBAL_CORS`` (``moto_server``), moto answers each bucket's own CORS rules on preflights
and on GET, PUT and the like, but not on a POST to the bucket (the presigned form upload the page makes,
measured with moto 5.2): the browser then cannot read the answer, and the page reports the upload as failed.
This WSGI middleware, around moto's app in the moto child only, adds ``Access-Control-Allow-Origin`` to such a
POST when the bucket's CORS rules allow that origin and POST, as S3 does; any other origin gets nothing.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

#: (allowed origins, allowed methods, exposed headers) of each CORS rule of a bucket.
Rule = tuple[list[str], list[str], list[str]]


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """S3's matching: an exact origin, ``*``, or a pattern with one ``*`` wildcard."""
    for pattern in allowed:
        if pattern == "*" or pattern == origin:
            return True
        if "*" in pattern and re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), origin):
            return True
    return False


def bucket_of_post(method: str, path: str) -> str | None:
    """The bucket a request POSTs an upload form to (path-style ``/<bucket>``), or None."""
    parts = [part for part in path.split("/") if part]
    return parts[0] if method == "POST" and len(parts) == 1 else None


class BucketPostCors:
    """WSGI middleware: the bucket's CORS headers on a form POST to it (see the module docstring)."""

    def __init__(self, app: Callable, rules_of: Callable[[str], list[Rule]]):
        self.app, self.rules_of = app, rules_of

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        bucket = bucket_of_post(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if not origin or not bucket:
            return self.app(environ, start_response)
        extra = self.headers_for(bucket, origin)

        def start(status: str, headers: list, exc_info=None):
            if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
                headers = list(headers) + extra
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, start)

    def headers_for(self, bucket: str, origin: str) -> list[tuple[str, str]]:
        try:
            rules = self.rules_of(bucket)
        except Exception:  # no such bucket, no CORS: nothing to add
            return []
        for origins, methods, exposed in rules:
            if "POST" in methods and origin_allowed(origin, origins):
                headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
                if exposed:
                    headers.append(("Access-Control-Expose-Headers", ", ".join(exposed)))
                return headers
        return []


def moto_bucket_rules(bucket: str) -> list[Rule]:
    """A bucket's CORS rules as moto's S3 backend holds them (in the moto child's own process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    found = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_bucket(bucket)
    return [(list(r.allowed_origins or []), list(r.allowed_methods or []), list(r.exposed_headers or [])) for r in found.cors]
