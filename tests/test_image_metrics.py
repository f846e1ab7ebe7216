"""The image checks' metrics computed with numpy and a regex (documents/images.py) against the Pillow and
Python formulations they replaced, kept here as the reference: the results must be the same, not close."""
from __future__ import annotations

import functools
import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageFilter

from documents import images
from tests import image_corpus as corpus

JPEGS = ["sharp_stamped_jpeg", "progressive_jpeg", "with_exif_gps_and_comment", "cmyk_jpeg", "rotated_exif_6",
         "mpo_phone_photo", "trailing_phone_data", "with_icc_profile", "truncated_jpeg", "polyglot_html",
         "blurred", "dark", "overexposed", "no_seal", "jpeg_huge_header"]
PHOTOS = ["sharp_stamped_jpeg", "progressive_jpeg", "cmyk_jpeg", "clean_scan_with_seal", "sparse_page",
          "grayscale_scan", "no_seal", "blurred", "dark", "overexposed", "png_with_alpha", "palette_png",
          "with_icc_profile", "proof_sized", "mpo_phone_photo"]


@functools.cache
def sample(name: str) -> bytes:
    return getattr(corpus, name)()


@functools.cache
def analysis_copy(name: str) -> Image.Image:
    """The image the metrics see in check_image: decoded, sRGB, scaled down to ANALYSIS_LONG_SIDE."""
    data = sample(name)
    img = images._open(data, "JPEG" if data.startswith(images.JPEG_MAGIC) else "PNG")
    return images.analysis_copy(images._to_srgb(images._decode_oriented(img)))


# --- the red mask: Pillow's HSV conversion, thresholded -----------------------------------------------

def pillow_red_mask(rgb: Image.Image) -> np.ndarray:
    hue, saturation, value = rgb.convert("HSV").split()
    red = ImageChops.multiply(
        ImageChops.multiply(
            hue.point(lambda h: 255 if h <= images.SEAL_HUE_LOW or h >= images.SEAL_HUE_HIGH else 0),
            saturation.point(lambda s: 255 if s >= images.SEAL_MIN_SATURATION else 0)),
        value.point(lambda v: 255 if v >= images.SEAL_MIN_VALUE else 0))
    return np.asarray(red)


def every_colour(chunk: int, chunks: int = 16) -> Image.Image:
    """The chunk-th of `chunks` equal parts of all 2^24 RGB colours, as a square image (1024 x 1024 for 16)."""
    count = 2**24 // chunks
    colour = np.arange(chunk * count, (chunk + 1) * count, dtype=np.uint32)
    rgb = np.stack([colour >> 16, (colour >> 8) & 255, colour & 255], axis=-1).astype(np.uint8)
    side = int(count**0.5)
    return Image.fromarray(rgb.reshape(side, side, 3))


@pytest.mark.parametrize("chunk", range(16))
def test_red_mask_is_pillow_hsv_thresholded_for_every_rgb_colour(chunk):
    colours = every_colour(chunk)
    expected = pillow_red_mask(colours)
    got = images._red_mask(colours)
    assert got.dtype == np.uint8 and got.shape == expected.shape
    wrong = np.flatnonzero(got != expected)
    assert not wrong.size, f"{wrong.size} colours differ, e.g. {np.asarray(colours).reshape(-1, 3)[wrong[:5]]}"


def test_every_colour_covers_each_colour_once():
    seen = np.concatenate([np.asarray(every_colour(k)).reshape(-1, 3) for k in (0, 7, 15)])
    packed = (seen[:, 0].astype(np.uint32) << 16) | (seen[:, 1].astype(np.uint32) << 8) | seen[:, 2]
    assert len(np.unique(packed)) == 3 * 2**20 and packed.min() == 0 and packed.max() == 2**24 - 1


def pillow_has_red_seal(img: Image.Image) -> bool:
    red = Image.fromarray(pillow_red_mask(img.convert("RGB")))
    if red.histogram()[255] < images.SEAL_MIN_SHARE * red.width * red.height:
        return False
    blocks = red.reduce(4) if min(red.size) >= 8 else red
    radius = max(1, round(max(blocks.size) * images.SEAL_WINDOW / 2))
    return blocks.filter(ImageFilter.BoxBlur(radius)).getextrema()[1] >= images.SEAL_MIN_WINDOW_DENSITY * 255


@pytest.mark.parametrize("name", PHOTOS)
def test_has_red_seal_decides_as_with_pillow_hsv(name):
    small = analysis_copy(name)
    assert np.array_equal(images._red_mask(small), pillow_red_mask(small))
    assert images.has_red_seal(small) == pillow_has_red_seal(small)


# --- edge slopes: Pillow's 3x3 Kernel filters -----------------------------------------------------------

SOBEL_X = ImageFilter.Kernel((3, 3), (-1, 0, 1, -2, 0, 2, -1, 0, 1), scale=8, offset=128)
SOBEL_Y = ImageFilter.Kernel((3, 3), (-1, -2, -1, 0, 0, 0, 1, 2, 1), scale=8, offset=128)
ABS_SLOPE = [min(255, abs(v - 128) * 2) for v in range(256)]


def pillow_slope_histogram(gray: Image.Image, kernels=(SOBEL_X, SOBEL_Y)) -> list[int]:
    slopes = [gray.filter(k).crop((1, 1, gray.width - 1, gray.height - 1)).point(ABS_SLOPE) for k in kernels]
    return ImageChops.lighter(*slopes).histogram()


def pillow_edge_sharpness(gray: Image.Image) -> float:
    histogram = gray.histogram()
    contrast = max(1, images._percentile(histogram, 0.995) - images._percentile(histogram, 0.001))
    edges = [0] * 256
    first = min(255, int(2 * images.EDGE_SLOPE * contrast) + 1)
    edges[first:] = pillow_slope_histogram(gray)[first:]
    if not sum(edges):
        return 0.0
    return images._percentile(edges, 0.99) / 2 / contrast


def gray_images(seed: int = 5) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    made = []
    for height, width in [(3, 3), (4, 7), (9, 5), (64, 48), (333, 257), (750, 1000)]:
        made.append(rng.integers(0, 256, (height, width), dtype=np.uint8))  # uniform noise
        made.append(rng.integers(100, 140, (height, width), dtype=np.uint8))  # low contrast noise
        made.append(rng.choice(np.array([0, 255], np.uint8), (height, width)))  # the steepest slopes
        y, x = np.mgrid[0:height, 0:width]
        for slope_x, slope_y in [(1, 0), (0, 1), (0.37, -0.61), (3, 5), (-9, 0.5), (40, -40)]:
            made.append(((x * slope_x + y * slope_y) % 256).astype(np.uint8))  # gradients, wrapping to steps
        made.append((128 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)).astype(np.uint8))  # smooth
    return [Image.fromarray(a) for a in made]




def test_slope_histogram_is_pillow_kernels_on_noise_and_gradients():
    for gray in gray_images():
        assert images._slope_histogram(gray) == pillow_slope_histogram(gray), gray.size


@pytest.mark.parametrize("name", PHOTOS)
def test_edge_sharpness_is_pillow_kernels_on_the_corpus(name):
    gray = analysis_copy(name).convert("L")
    assert images._slope_histogram(gray) == pillow_slope_histogram(gray)
    assert images.edge_sharpness(gray) == pillow_edge_sharpness(gray)
    assert images.edge_sharpness(gray, gray.histogram()) == pillow_edge_sharpness(gray)


def test_the_slope_comparison_sees_the_kernels_orientation():
    """Which row and column a weight multiplies decides how halves round: kernels flipped give other numbers,
    so the test above would catch an upside-down or mirrored formulation."""
    flipped_y = ImageFilter.Kernel((3, 3), (1, 2, 1, 0, 0, 0, -1, -2, -1), scale=8, offset=128)
    mirrored_x = ImageFilter.Kernel((3, 3), (1, 0, -1, 2, 0, -2, 1, 0, -1), scale=8, offset=128)
    noise = gray_images()[0::10]  # uniform noise of each size
    for kernels in [(SOBEL_X, flipped_y), (mirrored_x, SOBEL_Y)]:
        assert any(images._slope_histogram(g) != pillow_slope_histogram(g, kernels) for g in noise)


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
