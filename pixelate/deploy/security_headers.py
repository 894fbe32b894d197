"""The security headers of the page and of the results: the ONE place their text is written.

The local edge sends them from here. On AWS, CloudFront sends them through a response headers policy in
``cloudformation.yaml``, which must mirror this text: ``PAGE_POLICY`` with ``${UploadOrigin}`` substituted by
CloudFormation (``!Sub``), and ``RESULT_POLICY`` as it is; ``tests/deploy/test_security_headers.py`` compares them.

- **The page** (``PAGE_POLICY``): scripts, styles and images only from its own origin (plus ``blob:`` and
  ``data:`` previews drawn before upload), requests only to its own origin (the API, the results) and to the
  originals bucket's endpoint where the browser POSTs uploads (``upload_origin``: moto's URL locally; on AWS the
  bucket's virtual-hosted endpoint ``https://<bucket>.s3.amazonaws.com``, the ``url`` ``POST /api/uploads``
  answers, which is the bucket's ``DomainName`` attribute), no framing, no plugins, no ``<base>``.
- **Results and status records** (``RESULT_POLICY``): ``sandbox`` makes a document opened from them a unique
  origin without script, so that even an output that a browser took for HTML (which the service never writes:
  ``store.OUTPUT_CONTENT_TYPES``) could not act as the page's origin; ``default-src 'none'`` loads nothing.
- **Everything** (``COMMON_HEADERS``): ``nosniff`` (a type is never guessed from bytes), no framing by other
  sites (``X-Frame-Options`` for browsers that ignore ``frame-ancestors``), and a referrer that names only the
  origin when leaving it.
"""
from __future__ import annotations

#: The page's Content-Security-Policy; ``${UploadOrigin}`` is where the browser POSTs uploads.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self' ${UploadOrigin}; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'"
)
#: The Content-Security-Policy of ``pixelated/*`` and ``status/*``.
RESULT_POLICY = "sandbox; default-src 'none'; frame-ancestors 'none'"
#: Sent with every answer, page, results and API alike.
COMMON_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
UPLOAD_ORIGIN_PLACEHOLDER = "${UploadOrigin}"


def page_policy(upload_origin: str) -> str:
    """The page's policy for an environment whose uploads go to ``upload_origin`` (``scheme://host[:port]``)."""
    origin = origin_of(upload_origin)
    if origin != upload_origin.rstrip("/"):
        raise ValueError(f"not an origin: {upload_origin!r}")
    return PAGE_POLICY.replace(UPLOAD_ORIGIN_PLACEHOLDER, origin)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; ValueError for anything that could not stand in a policy."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\"*@"):
        raise ValueError(f"not an http(s) URL with a host: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def page_headers(upload_origin: str) -> dict[str, str]:
    return {**COMMON_HEADERS, "Content-Security-Policy": page_policy(upload_origin)}


def result_headers() -> dict[str, str]:
    return {**COMMON_HEADERS, "Content-Security-Policy": RESULT_POLICY}
