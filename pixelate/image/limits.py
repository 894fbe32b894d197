"""Limits and defaults of the pixelation core: settings with documented defaults, overridable by environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

METHODS = ("average", "nearest")
DEFAULT_PIXEL_SIZE = 16
DEFAULT_METHOD = "average"
MIN_PIXEL_SIZE = 2
MAX_PIXEL_SIZE = 512
#: WebP's encoder needs about twice the memory per pixel of the other formats' (lossless, as the whole-image
#: output is: ~21 bytes a pixel; its animation encoder more): a WebP's frames are limited to this share of
#: ``max_pixels`` and ``max_total_pixels``. Measured here: a still of 49 MP peaked at 1.8 GB, two frames of
#: 49 MP at 2.56 GB (past the function's 2048 MB); 25 MP at 0.93 GB, two frames of 25 MP at 1.33 GB (1.56 GB
#: with faces).
WEBP_SHARE = 0.5


@dataclass(frozen=True)
class Limits:
    """What the core accepts. Checked from the header before any pixel is decoded.

    Environment overrides (used by the Lambda and the local stack): ``PIXELATE_MAX_BYTES``,
    ``PIXELATE_MAX_PIXELS``, ``PIXELATE_MAX_FRAMES``, ``PIXELATE_MAX_TOTAL_PIXELS``, ``PIXELATE_MAX_FACE_LOOKS``.
    """

    #: Largest encoded input accepted (50 MiB): a phone photo is 2–12 MB, a 24 MP PNG ~40 MB.
    max_bytes: int = 50 * 1024 * 1024
    #: Largest single frame, in pixels (50 MP): above every phone camera, far below a bomb.
    max_pixels: int = 50_000_000
    #: Most frames or pages in one file.
    max_frames: int = 500
    #: Most pixels summed over all frames (what an animation costs to decode and hold). Two full frames:
    #: an APNG of 2 × 50 MP RGBA peaks at ~1.74 GB, inside the function's default 2048 MB; the old 200 MP
    #: let 4 × 49 MP peak at 2.64 GB (frames are held full size, and Pillow's writer copies them again).
    max_total_pixels: int = 100_000_000
    #: Frames of an animation the face detector looks at (40-150 ms each here, by frame size): 12 spread over it
    #: (and its last) at least, then more where neighbouring looks disagree, up to this; besides, at most twice
    #: this many frames whose content differs from the looks around them (``image.face_track``).
    max_face_looks: int = 36
    #: What these limits are for, said after them in a refusal (" for a WebP": lower than README's figures)
    scope: str = ""

    def for_format(self, fmt: str | None) -> "Limits":
        """These limits for a file of format ``fmt`` (as sniffed): lower for WebP (``WEBP_SHARE``)."""
        if fmt != "WEBP":
            return self
        return replace(self, max_pixels=max(1, int(self.max_pixels * WEBP_SHARE)),
                       max_total_pixels=max(1, int(self.max_total_pixels * WEBP_SHARE)),
                       scope=" for a WebP (half the other formats': its encoder needs twice the memory)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Limits":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            if f.name == "scope":
                continue
            name = f"PIXELATE_{f.name.upper()}"
            raw = env.get(name)
            if raw:
                text = raw.strip()
                if not (text.isascii() and text.isdigit()) or int(text) < 1:
                    raise ValueError(f"{name} must be a whole number of at least 1, not {raw[:20]!r}.")
                values[f.name] = int(text)
        return cls(**values)


DEFAULT_LIMITS = Limits()


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup CPU quota where one is set (containers)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        with open("/sys/fs/cgroup/cpu.max") as limit:
            quota, period = limit.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cpus
