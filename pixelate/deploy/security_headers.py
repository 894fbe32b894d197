"""The security headers of the page and of the results, written once for every environment.

    >>> from pixelate.deploy.security_headers import page_policy, RESULT_POLICY
    >>> page_policy("local", ["http://127.0.0.1:5000"])
    "default-src 'none'; script-src 'self'; ... connect-src 'self' http://127.0.0.1:5000; ..."

Who sends them: locally the local edge, from these functions, with moto's origin as the upload origin; on AWS
CloudFront's response headers policies in ``cloudformation.yaml`` (a template cannot import Python, so it holds
the same text with the bucket's domain names as ``${...}`` variables; ``tests/deploy/test_security_headers.py``
checks that they resolve to exactly what this module builds).

- **The page** (``page_policy``): scripts, styles and images only from its own origin (plus ``blob:`` and
  ``data:`` previews drawn before upload), requests only to its own origin (the API, the results) and to the
  originals bucket's endpoints where the browser POSTs uploads (the one thing that differs between
  environments: moto's URL locally; on AWS ``aws_upload_origins``), no framing, no plugins, no ``<base>``. On
  AWS it also upgrades any ``http:`` request; locally everything is plain HTTP on 127.0.0.1, so it does not.
- **Results and status records** (``RESULT_POLICY``): ``sandbox`` makes a document opened from them a unique
  origin without script, so that even an output a browser took for HTML (which the service never writes:
  ``store.OUTPUT_CONTENT_TYPES``) could not act as the page's origin; ``default-src 'none'`` loads nothing
  (``style-src 'unsafe-inline'`` lets a browser style its own viewer of an image opened on its own).
- **Everything** (``COMMON_HEADERS``): ``nosniff`` (a type is never guessed from bytes), no framing by other
  sites (``X-Frame-Options`` for browsers that ignore ``frame-ancestors``), and a referrer that names only the
  origin when leaving it.
"""
from __future__ import annotations

from typing import Sequence
from urllib.parse import urlsplit

#: The environments of the template's ``Environment`` parameter.
ENVIRONMENTS = ("aws", "local")
#: The Content-Security-Policy of ``pixelated/*`` and ``status/*``, in both environments.
RESULT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
#: Sent with every answer, page, results and API alike.
COMMON_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def page_policy(environment: str, upload_origins: Sequence[str] = ()) -> str:
    """The page's Content-Security-Policy for ``environment`` (``aws`` or ``local``), allowing uploads to
    ``upload_origins`` (``scheme://host[:port]`` each)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, not {environment!r}")
    for origin in upload_origins:
        if origin_of(origin) != origin:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    directives = [
        ("default-src", ["'none'"]),
        ("script-src", ["'self'"]),
        ("style-src", ["'self'"]),
        ("img-src", ["'self'", "blob:", "data:"]),
        ("connect-src", ["'self'", *upload_origins]),
        ("form-action", ["'self'"]),
        ("base-uri", ["'none'"]),
        ("object-src", ["'none'"]),
        ("frame-ancestors", ["'none'"]),
    ]
    if environment == "aws":
        directives.append(("upgrade-insecure-requests", []))
    return "; ".join(" ".join([name, *values]) for name, values in directives)


def aws_upload_origins(bucket: str, region: str) -> list[str]:
    """Where the page's presigned POSTs go on AWS: the originals bucket's virtual-hosted endpoints (the global
    name botocore signs for, and the regional one it uses when a region needs it)."""
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; ValueError for anything that could not stand in a policy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\"*@"):
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(environment: str, upload_origins: Sequence[str]) -> dict[str, str]:
    return {**COMMON_HEADERS, "Content-Security-Policy": page_policy(environment, upload_origins)}


def result_headers() -> dict[str, str]:
    return {**COMMON_HEADERS, "Content-Security-Policy": RESULT_POLICY}
