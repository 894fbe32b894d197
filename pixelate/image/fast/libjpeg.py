"""libjpeg's coefficient API through ctypes: read a JPEG's DCT coefficients, let a callback edit them, write them.

Pillow's manylinux wheels (x86_64 and aarch64) ship libjpeg-turbo as ``pillow.libs/libjpeg-<hash>.so.62``; it
exports the classic API with ``jpeg_read_coefficients`` and ``jpeg_write_coefficients``, the calls ``jpegtran``
is made of. Using that library adds no dependency to the Lambda zip. Measured at 12 MP (two 400×400 regions,
block 16, these 2 cores): 46 ms for a 1.6 MB baseline JPEG and 110 ms for a progressive one, against 184 and
287 ms for Pillow's decode and re-encode (docs/benchmark.md has the project's own run).

The v6.2 ABI's struct layouts are frozen (the offsets below were checked with ``offsetof`` against the
libjpeg-turbo 2.1 and 3.x headers, for LP64 x86_64 and aarch64 alike); every run also checks them against the
file's own header (size, components, sampling, blocks) and declines on any mismatch.

libjpeg reports fatal errors through ``error_exit``, which must not return, and a Python callback cannot
longjmp; so the libjpeg calls run on a worker thread, and ``error_exit`` parks that thread for good (its
libjpeg memory is leaked; the caller gets ``None`` and the general path classifies the file). The pipeline
makes that all but unreachable: Pillow (which catches libjpeg's errors properly) has decoded the same file at
1/8 before this runs, so structural damage is refused there. ``parked_threads()`` counts what was parked.

Any libjpeg warning (corrupt entropy data, a truncated file) also declines: only the general path may decide
what a damaged file means.
"""
from __future__ import annotations

import ctypes
import glob
import os
import threading
from functools import lru_cache
from typing import Callable, NamedTuple

#: struct sizes and field offsets of the libjpeg v6.2 ABI (LP64)
_DSIZE, _CSIZE, _ERRSIZE = 632, 520, 168
_D_MEM, _D_IMAGE_WIDTH, _D_NUM_COMPONENTS, _D_COMP_INFO = 8, 48, 56, 304
_C_OPTIMIZE, _C_RESTART_INTERVAL = 264, 280
_COMP_SIZE, _COMP_H, _COMP_V, _COMP_WIB, _COMP_HIB = 96, 8, 12, 28, 32
_MEM_ACCESS_BARRAY = 64
_ERR_EXIT, _ERR_EMIT, _ERR_FORMAT = 0, 8, 24
_JPEG_LIB_VERSION = 62

_ERROR_EXIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_EMIT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int)
_FORMAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
_ACCESS = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_int)

_lock = threading.Lock()
_library = None
_parked: list[str] = []


class Component(NamedTuple):
    """One component as libjpeg lays out its coefficients: sampling factors and size in 8×8 blocks."""

    h: int
    v: int
    width_in_blocks: int
    height_in_blocks: int


#: ``rows(first, end)``: one writable view per block row of a component, format ``h``, width × 64
#: coefficients in natural order, DC first
Rows = Callable[[int, int], list]
#: ``edit(component_index, rows)``: change the coefficients in place
Edit = Callable[[int, Rows], None]


def parked_threads() -> int:
    """How many worker threads a fatal libjpeg error has parked in this process (see the module docstring)."""
    return len(_parked)


def available() -> bool:
    """Whether the library loads here (Pillow's own, or ``PIXELATE_LIBJPEG``)."""
    return _load() is not None


def transcode(data: bytes, expected: tuple[int, int, tuple[Component, ...]], edit: Edit, restart_interval: int = 0) -> bytes | None:
    """The JPEG ``data`` with its coefficients edited by ``edit``, written as a baseline JPEG with libjpeg's
    standard Huffman tables and the input's quantisation tables, sampling and colour space; ``None`` when the
    library is missing, the file's layout is not ``expected`` ((width, height, components)), libjpeg warns, or
    anything fails. Metadata markers are not copied (the caller adds back what it keeps)."""
    library = _load()
    if library is None:
        return None
    outcome: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            _transcode(library, data, expected, edit, restart_interval, outcome, done)
        except BaseException as exc:  # an error in the edits: libjpeg's state was cleaned up by the finally blocks
            outcome.setdefault("error", repr(exc))
        finally:
            done.set()

    worker = threading.Thread(target=work, name="libjpeg-transcode", daemon=True)
    worker.start()
    done.wait()
    if "jpeg" not in outcome:
        return None
    worker.join()
    return outcome["jpeg"]


# ------------------------------------------------------------------------------------------------ loading


def _pillow_libjpeg() -> str | None:
    """The libjpeg that Pillow's wheel bundles (``pillow.libs/libjpeg-*.so*``), if Pillow came as a wheel."""
    import PIL

    base = os.path.dirname(os.path.dirname(PIL.__file__))
    for pattern in ("pillow.libs/libjpeg*.so*", "PIL/.dylibs/libjpeg*.dylib"):
        found = sorted(glob.glob(os.path.join(base, pattern)))
        if found:
            return found[0]
    return None


def _load():
    global _library
    with _lock:
        if _library is None:
            _library = False
            for name in filter(None, [os.environ.get("PIXELATE_LIBJPEG"), _pillow_libjpeg()]):
                try:
                    library = ctypes.CDLL(name)
                    _declare(library)
                except (OSError, AttributeError):
                    continue
                _library = library
                break
    return _library or None


def _declare(library) -> None:
    vp, i = ctypes.c_void_p, ctypes.c_int
    for name, args, result in [
        ("jpeg_std_error", [vp], vp), ("jpeg_CreateDecompress", [vp, i, ctypes.c_size_t], None),
        ("jpeg_CreateCompress", [vp, i, ctypes.c_size_t], None), ("jpeg_mem_src", [vp, vp, ctypes.c_ulong], None),
        ("jpeg_mem_dest", [vp, vp, vp], None), ("jpeg_read_header", [vp, i], i),
        ("jpeg_read_coefficients", [vp], vp), ("jpeg_copy_critical_parameters", [vp, vp], None),
        ("jpeg_write_coefficients", [vp, vp], None), ("jpeg_finish_compress", [vp], None),
        ("jpeg_finish_decompress", [vp], i), ("jpeg_destroy_compress", [vp], None),
        ("jpeg_destroy_decompress", [vp], None),
    ]:
        function = getattr(library, name)
        function.argtypes, function.restype = args, result


_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]


# ---------------------------------------------------------------------------------------- the libjpeg calls


@lru_cache(maxsize=64)
def _row_type(blocks: int):
    return ctypes.c_short * (blocks * 64)


def _row_view(address: int, blocks: int) -> memoryview:
    return memoryview(_row_type(blocks).from_address(address)).cast("B").cast("h")


def _layout(dinfo) -> tuple[int, int, tuple[Component, ...]]:
    """(width, height, components) as libjpeg read them from the header."""
    width = ctypes.c_uint.from_buffer(dinfo, _D_IMAGE_WIDTH).value
    height = ctypes.c_uint.from_buffer(dinfo, _D_IMAGE_WIDTH + 4).value
    count = ctypes.c_int.from_buffer(dinfo, _D_NUM_COMPONENTS).value
    base = ctypes.c_void_p.from_buffer(dinfo, _D_COMP_INFO).value
    components = []
    for index in range(count if 0 < count <= 4 else 0):
        at = base + index * _COMP_SIZE
        components.append(Component(
            ctypes.c_int.from_address(at + _COMP_H).value, ctypes.c_int.from_address(at + _COMP_V).value,
            ctypes.c_uint.from_address(at + _COMP_WIB).value, ctypes.c_uint.from_address(at + _COMP_HIB).value,
        ))
    return width, height, tuple(components)


def _transcode(library, data: bytes, expected, edit: Edit, restart_interval: int, outcome: dict, done: threading.Event) -> None:
    """The libjpeg sequence (on a worker thread: see the module docstring). Leaves the file in ``outcome["jpeg"]``."""
    error = ctypes.create_string_buffer(_ERRSIZE)
    dinfo = ctypes.create_string_buffer(_DSIZE)
    cinfo = ctypes.create_string_buffer(_CSIZE)
    warnings: list[int] = []

    def error_exit(common) -> None:
        text = ctypes.create_string_buffer(200)
        try:
            _FORMAT(ctypes.c_void_p.from_address(ctypes.addressof(error) + _ERR_FORMAT).value)(common, text)
        except Exception:
            pass
        outcome["error"] = text.value.decode("latin-1", "replace")
        _parked.append(outcome["error"])
        done.set()
        threading.Event().wait()  # never returns: libjpeg's state is unusable past error_exit

    def emit_message(_common, level: int) -> None:
        if level < 0:
            warnings.append(level)

    callbacks = (_ERROR_EXIT(error_exit), _EMIT(emit_message))  # kept alive for the calls below
    library.jpeg_std_error(error)
    ctypes.c_void_p.from_buffer(error, _ERR_EXIT).value = ctypes.cast(callbacks[0], ctypes.c_void_p).value
    ctypes.c_void_p.from_buffer(error, _ERR_EMIT).value = ctypes.cast(callbacks[1], ctypes.c_void_p).value
    out_buffer, out_size = ctypes.c_void_p(), ctypes.c_ulong(0)
    ctypes.c_void_p.from_buffer(dinfo, 0).value = ctypes.addressof(error)
    library.jpeg_CreateDecompress(dinfo, _JPEG_LIB_VERSION, _DSIZE)
    try:
        library.jpeg_mem_src(dinfo, data, len(data))  # (bytes are passed by pointer, not copied)
        library.jpeg_read_header(dinfo, 1)
        layout = _layout(dinfo)
        if layout != expected:
            outcome["error"] = f"the file's layout {layout} is not the expected {expected}"
            return
        arrays = library.jpeg_read_coefficients(dinfo)
        if warnings:
            outcome["error"] = f"{len(warnings)} libjpeg warnings"
            return
        memory = ctypes.c_void_p.from_buffer(dinfo, _D_MEM).value
        access = _ACCESS(ctypes.c_void_p.from_address(memory + _MEM_ACCESS_BARRAY).value)
        barrays = (ctypes.c_void_p * len(layout[2])).from_address(arrays)
        for index, component in enumerate(layout[2]):

            def rows(first: int, end: int, index=index, component=component) -> list:
                views = []
                for row in range(first, end):
                    start = row // component.v * component.v  # whole iMCU rows, as libjpeg's own users ask
                    pointers = (ctypes.c_void_p * component.v).from_address(
                        access(dinfo, barrays[index], start, component.v, 1))
                    views.append(_row_view(pointers[row - start], component.width_in_blocks))
                return views

            edit(index, rows)
        ctypes.c_void_p.from_buffer(cinfo, 0).value = ctypes.addressof(error)
        library.jpeg_CreateCompress(cinfo, _JPEG_LIB_VERSION, _CSIZE)
        try:
            library.jpeg_mem_dest(cinfo, ctypes.byref(out_buffer), ctypes.byref(out_size))
            library.jpeg_copy_critical_parameters(dinfo, cinfo)
            ctypes.c_int.from_buffer(cinfo, _C_OPTIMIZE).value = 0  # standard tables: one pass
            # the input's restart interval (in MCUs): decoders that resync or decode in parallel use it
            ctypes.c_uint.from_buffer(cinfo, _C_RESTART_INTERVAL).value = restart_interval
            library.jpeg_write_coefficients(cinfo, arrays)
            library.jpeg_finish_compress(cinfo)
            if warnings:
                outcome["error"] = f"{len(warnings)} libjpeg warnings"
            else:
                outcome["jpeg"] = ctypes.string_at(out_buffer.value, out_size.value)
        finally:
            library.jpeg_destroy_compress(cinfo)
            if out_buffer.value:
                _libc.free(out_buffer)
        library.jpeg_finish_decompress(dinfo)
    finally:
        library.jpeg_destroy_decompress(dinfo)
