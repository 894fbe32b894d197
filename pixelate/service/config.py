"""The Lambdas' settings, read from their environment once per invocation (docs/architecture.md lists them).

A setting that is wrong is a deployment error, not a property of any image: reading it raises, so the
processing function's messages go to the dead-letter queue and the API answers 500, where someone looks.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from pixelate.image.errors import PixelateError
from pixelate.image.limits import DEFAULT_LIMITS, DEFAULT_METHOD, DEFAULT_PIXEL_SIZE, Limits
from pixelate.image.options import Options, parse_options


def default_options(env) -> Options:
    """``DEFAULT_PIXEL_SIZE`` and ``DEFAULT_METHOD``, parsed by the same rule as every request's options."""
    try:
        return parse_options(env.get("DEFAULT_PIXEL_SIZE") or DEFAULT_PIXEL_SIZE, env.get("DEFAULT_METHOD") or DEFAULT_METHOD)
    except PixelateError as error:
        raise RuntimeError(f"DEFAULT_PIXEL_SIZE or DEFAULT_METHOD: {error.message}") from None


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _required(env, name: str) -> str:
    value = env.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value


#: the processing function's environment variable holding ``HandlerConfig.source_version_key``
SOURCE_VERSION_KEY = "SOURCE_VERSION_KEY"


@dataclass(frozen=True)
class HandlerConfig:
    """The processing function's settings."""

    processed_bucket: str
    defaults: Options
    limits: Limits
    delete_originals: bool
    topic_arn: str | None
    #: the key of the versions records and outputs name (``status.source_version``); the template sets it from
    #: the stack's id, which only the account sees. Required: with no key anyone could compute a version from a
    #: guessed original's MD5, and the records written would not match the stack's key later.
    source_version_key: str = ""

    @classmethod
    def from_env(cls, environ=None) -> "HandlerConfig":
        env = os.environ if environ is None else environ
        return cls(
            processed_bucket=_required(env, "PROCESSED_BUCKET"),
            defaults=default_options(env),
            limits=Limits.from_env(env),
            delete_originals=is_true(env.get("DELETE_ORIGINALS")),
            topic_arn=(env.get("NOTIFICATION_TOPIC_ARN") or "").strip() or None,
            source_version_key=_required(env, SOURCE_VERSION_KEY),
        )


@dataclass(frozen=True)
class ApiConfig:
    """The API function's settings."""

    originals_bucket: str
    processed_bucket: str
    max_upload_bytes: int
    defaults: Options
    public_base_url: str

    @classmethod
    def from_env(cls, environ=None) -> "ApiConfig":
        env = os.environ if environ is None else environ
        return cls(
            originals_bucket=env.get("ORIGINALS_BUCKET", ""),
            processed_bucket=env.get("PROCESSED_BUCKET", ""),
            max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES") or DEFAULT_LIMITS.max_bytes),
            defaults=default_options(env),
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/"),
        )
