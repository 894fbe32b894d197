"""The Content-Security-Policy of the page and of the results, written once for every environment.

    >>> from pixelate.deploy.csp import page_policy, RESULTS_POLICY
    >>> page_policy("local", ["http://127.0.0.1:5000"])
    "default-src 'self'; script-src 'self'; ... connect-src 'self' http://127.0.0.1:5000; ..."

The page (``pixelate/web/``) loads its script, style and icon from its own origin, shows previews from
``blob:`` URLs and results from its own origin (CloudFront on AWS, the local edge locally), calls the API on
its own origin, and uploads by presigned POST to the originals bucket's storage origin: the one thing that
differs between environments (``upload_origins``). On AWS the policy also upgrades any ``http:`` request;
locally everything is plain HTTP on 127.0.0.1, so it does not.

Who sends it: on AWS, CloudFront's response headers policy ``PageResponseHeadersPolicy`` in
``cloudformation.yaml`` (a template cannot import Python, so it holds the text with the bucket's domain names
as ``${...}`` variables; ``tests/deploy/test_csp.py`` checks that it resolves to :func:`page_policy` for
:func:`aws_upload_origins`); locally, the local edge, from :func:`page_policy` with moto's origin.

:data:`RESULTS_POLICY` is what ``pixelated/*`` and ``status/*`` are served with: no script, no plugin, no
fetch, and a ``sandbox`` (an opaque origin, as ``raw.githubusercontent.com`` serves user content), so a file
that a browser would take for a page can never act as the page's origin.
"""
from __future__ import annotations

from typing import Sequence

#: The environments of the template's ``Environment`` parameter.
ENVIRONMENTS = ("aws", "local")

#: Served with every processed object (``pixelated/*``, ``status/*``), in both environments. ``style-src
#: 'unsafe-inline'`` lets a browser style its own viewer when a result is opened on its own.
RESULTS_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def page_policy(environment: str, upload_origins: Sequence[str] = ()) -> str:
    """The page's policy for ``environment`` (``aws`` or ``local``), allowing uploads to ``upload_origins``
    (``scheme://host[:port]`` each: see :func:`aws_upload_origins`; locally moto's URL)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, not {environment!r}")
    for origin in upload_origins:
        if not origin.startswith(("https://", "http://")) or origin.rstrip("/") != origin or " " in origin or ";" in origin:
            raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    directives = [
        ("default-src", ["'self'"]),
        ("script-src", ["'self'"]),
        ("style-src", ["'self'"]),
        ("img-src", ["'self'", "blob:", "data:"]),
        ("connect-src", ["'self'", *upload_origins]),
        ("object-src", ["'none'"]),
        ("base-uri", ["'self'"]),
        ("form-action", ["'self'"]),
        ("frame-ancestors", ["'none'"]),
    ]
    if environment == "aws":
        directives.append(("upgrade-insecure-requests", []))
    return "; ".join(" ".join([name, *values]) for name, values in directives)


def aws_upload_origins(bucket: str, region: str) -> list[str]:
    """Where the page's presigned POSTs go on AWS: the originals bucket's virtual-hosted endpoints (the
    global name botocore signs for, and the regional one it uses when a region needs it)."""
    return [f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.{region}.amazonaws.com"]
