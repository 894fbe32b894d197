"""The one exception the package raises for input it will not process, and its fixed set of reasons."""
from __future__ import annotations

#: Every reason a rejection can carry. The set is fixed and documented in the README:
#: callers (the handler, the API, the CLI, SNS subscribers) branch on these strings.
REASONS: dict[str, str] = {
    "unsupported-format": "The file is not an image in a supported format.",
    "corrupt": "The image is damaged or truncated and cannot be decoded.",
    "too-large": "The image is larger than the service accepts.",
    "empty": "The file is empty.",
    "too-many-frames": "The animation or multi-page file has more frames than the service accepts.",
    "invalid-option": "An option (pixel size or method) is not valid.",
}


class PixelateError(Exception):
    """A permanent, classified rejection of an input: retrying the same input gives the same answer."""

    def __init__(self, reason: str, message: str | None = None):
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        self.reason = reason
        self.message = message or REASONS[reason]
        super().__init__(f"{reason}: {self.message}")
