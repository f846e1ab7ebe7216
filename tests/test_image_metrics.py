"""The image checks' metrics computed with numpy and a regex (documents/images.py) against the Pillow and
Python formulations they replaced, kept here as the reference: the results must be the same, not close."""
from __future__ import annotations

import functools
import io
import struct

import numpy as np
import pytest
from PIL import Image

from documents import images
from tests import image_corpus as corpus

JPEGS = ["sharp_stamped_jpeg", "progressive_jpeg", "with_exif_gps_and_comment", "cmyk_jpeg", "rotated_exif_6",
         "mpo_phone_photo", "trailing_phone_data", "with_icc_profile", "truncated_jpeg", "polyglot_html",
         "blurred", "dark", "overexposed", "no_seal", "jpeg_huge_header"]


@functools.cache
def sample(name: str) -> bytes:
    return getattr(corpus, name)()


# --- the JPEG walk: a Python loop over every 0xFF of the entropy-coded data ------------------------------

def python_jpeg_structure(data: bytes) -> tuple[int | None, list[bytes]]:
    metadata, pos, n = [], 2, len(data)
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return None, metadata
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, metadata
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if pos + 4 > n:
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment_end = pos + 2 + length
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            metadata.append(data[pos + 4:segment_end])
        pos = segment_end
        if marker == 0xDA:
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return None, metadata
                following = data[pos + 1]
                if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    pos += 1 if following == 0xFF else 2
                    continue
                break
    return None, metadata


def with_restart_markers() -> bytes:
    return corpus.jpeg(corpus.stamped_photo((400, 560)), quality=80, restart_marker_blocks=3)


def with_fill_bytes() -> bytes:
    """0xFF fill before markers: before EOI, before each restart marker, before the second scan's headers."""
    data = corpus.jpeg(corpus.stamped_photo((400, 560)), quality=80, progressive=True, restart_marker_rows=1)
    for marker in [b"\xff\xd9", *(bytes([0xFF, 0xD0 + k]) for k in range(8)), b"\xff\xc4", b"\xff\xda"]:
        data = data[:2] + data[2:].replace(marker, b"\xff\xff\xff" + marker)
    return data


@pytest.mark.parametrize("name", JPEGS)
def test_jpeg_structure_is_the_python_walk_on_the_corpus(name):
    data = sample(name)
    assert images._jpeg_structure(data) == python_jpeg_structure(data)


def test_jpeg_structure_restart_markers_and_fill_bytes():
    restart, filled = with_restart_markers(), with_fill_bytes()
    assert b"\xff\xd0" in restart and b"\xff\xff\xff\xd9" in filled and b"\xff\xff\xff\xd3" in filled
    for data in (restart, filled):
        assert images._jpeg_structure(data) == python_jpeg_structure(data)
        assert images._jpeg_structure(data)[0] == data.rindex(b"\xff\xd9") + 2
    Image.open(io.BytesIO(filled)).load()  # still a JPEG


def test_jpeg_structure_is_the_python_walk_on_cut_and_damaged_files():
    rng = np.random.default_rng(11)
    for data in (with_restart_markers(), with_fill_bytes(), sample("sharp_stamped_jpeg"), sample("mpo_phone_photo")):
        cuts = list(range(0, 700)) + rng.integers(0, len(data), 300).tolist() + list(range(len(data) - 40, len(data)))
        for cut in cuts:
            assert images._jpeg_structure(data[:cut]) == python_jpeg_structure(data[:cut]), cut
        for _ in range(200):  # a few bytes overwritten with markers, stuffing and fill
            damaged = bytearray(data)
            for at in rng.integers(2, len(data) - 1, 3).tolist():
                damaged[at:at + 2] = bytes([0xFF, int(rng.choice([0x00, 0xD0, 0xD7, 0xD9, 0xDA, 0xFF, 0xE1, 0x01]))])
            damaged = bytes(damaged)
            assert images._jpeg_structure(damaged) == python_jpeg_structure(damaged)
