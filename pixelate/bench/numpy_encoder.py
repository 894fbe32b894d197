"""The flat-JPEG entropy coder vectorised with numpy: the road not taken, kept to measure it.

It writes the very same bytes as :func:`pixelate.image.fast.jpeg_writer.encode_flat_jpeg` (same tables, same layout;
a test checks it), with every per-block step done by numpy: DC differences, code lookup, and bit packing
(each token's bits are placed with shifts into 64-bit words, summed per word). The fast path stays pure
Python because numpy on the Lambda's path costs its import on the first request and ~35 MB of package;
``pixelate bench`` and docs/benchmark.md report what the numpy coder would save per call.
"""
from __future__ import annotations

import numpy as np

from pixelate.image.fast import jpeg_writer


def _token_arrays(tokens: dict[int, str], suffix: str) -> tuple[np.ndarray, np.ndarray]:
    """Code value and bit length of ``token(d) + suffix`` for d in -255..255 (index d + 255)."""
    values = np.zeros(511, np.uint64)
    lengths = np.zeros(511, np.int64)
    for d, code in tokens.items():
        bits = code + suffix
        if len(bits) > 64:
            raise ValueError("token longer than 64 bits")
        values[d + 255] = int(bits, 2) if bits else 0
        lengths[d + 255] = len(bits)
    return values, lengths


def _pack_rows(values: np.ndarray, lengths: np.ndarray) -> list[bytes]:
    """Bit-pack rows of tokens (2-D arrays, one row per MCU row), each row padded with ones and stuffed."""
    rows, per_row = values.shape
    row_bits = lengths.sum(axis=1)
    pad = (-row_bits) % 8
    values = np.concatenate([values, ((np.uint64(1) << pad.astype(np.uint64)) - np.uint64(1))[:, None]], axis=1).ravel()
    lengths = np.concatenate([lengths, pad[:, None]], axis=1).ravel()
    keep = lengths > 0
    values, lengths = values[keep], lengths[keep]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    word = starts >> 6
    offset = starts & 63
    total_words = int((ends[-1] + 63) >> 6) + 1
    # The part of each token in its first word: shifted up to its place, or down when it spills over.
    # (Two shifts, no np.where: one of them is by zero.)
    room = 64 - offset - lengths
    first = (values << room.clip(min=0).astype(np.uint64)) >> (-room).clip(min=0).astype(np.uint64)
    words = np.zeros(total_words, np.uint64)
    # tokens are sorted by word: a reduceat per run of equal words (bits never overlap, so add == or)
    runs = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
    words[word[runs]] = np.add.reduceat(first, runs)
    over = np.flatnonzero(room < 0)  # the few tokens that cross into the next word
    words[word[over] + 1] += values[over] << (64 + room[over]).astype(np.uint64)
    data = words.astype(">u8").tobytes()
    byte_ends = (np.cumsum(row_bits + pad) // 8).tolist()
    out, start = [], 0
    for end in byte_ends:
        out.append(data[start:end].replace(b"\xff", b"\xff\x00"))
        start = end
    return out


def encode_flat_jpeg_numpy(planes, width: int, height: int, size: int, icc_profile: bytes | None = None) -> bytes:
    """Same output as ``jpeg_writer.encode_flat_jpeg``: its layout, tables and file; the rows coded with numpy."""
    layout = jpeg_writer.flat_layout(width, height, size, len(planes))
    tables = jpeg_writer.choose_tables(layout, planes)
    tokens = [jpeg_writer.token_table(t) for t in tables]
    eob = jpeg_writer.EOB
    zero_y = tokens[0].get(0, "") + eob
    zero_mcu = zero_y * layout.luma_blocks + ((tokens[1].get(0, "") + eob) * 2 if layout.colour else "")

    rows, cols = layout.rows, layout.cols
    grids = [np.frombuffer(p, np.uint8).reshape(rows, cols).astype(np.int64) for p in planes]
    diffs = []
    for grid in grids:
        previous = np.empty_like(grid)
        previous[:, 0] = 128
        previous[:, 1:] = grid[:, :-1]
        diffs.append(grid - previous + 255)
    luma_v, luma_l = _token_arrays(tokens[0], eob + zero_y * (layout.luma_blocks - 1))
    columns_v, columns_l = [luma_v[diffs[0]]], [luma_l[diffs[0]]]
    if layout.colour:
        chroma_v, chroma_l = _token_arrays(tokens[1], eob)
        for d in diffs[1:]:
            columns_v.append(chroma_v[d])
            columns_l.append(chroma_l[d])
    zero_value, zero_length = (int(zero_mcu, 2), len(zero_mcu)) if zero_mcu else (0, 0)
    last_mcus = layout.mcus_x - (cols - 1) * layout.per_block
    for k in range(layout.per_block - 1):
        # the k-th repeated zero MCU of each block; the last block of a row may be cut short
        present = np.ones((rows, cols), bool)
        if k + 1 >= last_mcus:
            present[:, -1] = False
        columns_v.append(np.where(present, np.uint64(zero_value), np.uint64(0)))
        columns_l.append(np.where(present, zero_length, 0))
    values = np.stack(columns_v, axis=-1).reshape(rows, -1).astype(np.uint64)
    lengths = np.stack(columns_l, axis=-1).reshape(rows, -1)
    return jpeg_writer.assemble_flat_jpeg(layout, tables, _pack_rows(values, lengths), icc_profile)
