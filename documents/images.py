"""Checks of uploaded photos (stamped agreements, cancellation letters, destination proofs) before storage.

check_image() is synchronous and CPU-only, with no shared state: callers run it in an executor thread.
A refused upload raises DomainError with its own code (documents/errors.py); an accepted one comes back
re-encoded as a clean JPEG: orientation applied, sRGB, no metadata, at most MAX_LONG_SIDE pixels long.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
from PIL import Image, ImageCms, ImageFilter, ImageOps

import documents.errors  # noqa: F401  (registers the error codes)
from documents.storage import FileStore
from signing.errors import DomainError

KINDS = ("stamped-agreement", "paper-agreement", "cancellation-letter", "destination-proof")
SEALED_KINDS = ("stamped-agreement", "paper-agreement")  # both are agreements stamped by the employer

# Size limits. The HTTP layer enforces MAX_BYTES while streaming; it is checked again here.
MAX_BYTES = 10 * 1024 * 1024
# Pixels we decode at most: 40 MP bounds memory (~120 MB RGB). Checked from the header before decoding.
MAX_PIXELS = 40_000_000
# A JPEG may declare more (48-108 MP phone modes): it is decoded at 1/2..1/8 scale (DCT scaling), so
# the decoded pixels stay under MAX_PIXELS. Below Pillow's own bomb limit (2 x 89 MP).
MAX_JPEG_PIXELS = 120_000_000
# Shorter side needed to read the page: an A4 form at 720 px gives ~12 px high characters of 10.5 pt
# text. Proofs (admission notices, certificates, screenshots, site photos) carry larger text.
MIN_SHORT_SIDE = {"stamped-agreement": 720, "paper-agreement": 720, "cancellation-letter": 720,
                  "destination-proof": 480}
MAX_LONG_SIDE = 2400  # what we store: an A4 page at about 200 dpi, enough to zoom into a stamp and read it
# A JPEG is decoded at a reduced DCT scale (1/2, 1/4, 1/8) down to this share of MAX_LONG_SIDE: a 12 MP phone
# photo at 1/2 (2000 px long) costs a quarter of a full decode, which was most of the check.
JPEG_DRAFT_SHARE = 0.8
JPEG_QUALITY = 85

# Quality metrics are computed on a copy about this long (fast, and phone noise averages out).
ANALYSIS_LONG_SIDE = 1000
# Too dark: mean luminance (0-255) below this, paper no longer reads as paper (night, no light).
DARK_MEAN = 60
# Overexposed: the page is bright AND even its darkest 0.1 % of pixels are light grey, i.e. the text is
# washed out. A clean scan (white page, black text) has a high mean too but dark text pixels, so passes.
OVEREXPOSED_MEAN = 200
OVEREXPOSED_DARKEST = 150
# Blurred: edge_sharpness() of the analysis copy is about 0.4 / (blur width in pixels). Sharp phone photos
# and scans of a page give 0.35-0.7; below 0.16 (blur over ~2.5 px at 1000 px, a fifth of a character's
# height) 10.5 pt text, and Chinese characters first, can no longer be read.
MIN_EDGE_SHARPNESS = 0.16
EDGE_SLOPE = 0.015  # pixels steeper than this share of the contrast per pixel are edges
# Red seal (公章): pixels whose hue is within about 20 degrees of red, saturated and not dark.
# Pillow's HSV scales hue to 0-255; 230..255 and 0..14 is 325..20 degrees (seal ink photographs from
# crimson to orange-red).
SEAL_HUE_LOW, SEAL_HUE_HIGH = 14, 230
SEAL_MIN_SATURATION = 90   # ~35 %: red ink, not a warm colour cast
SEAL_MIN_VALUE = 70        # not a dark brown shadow
SEAL_MIN_SHARE = 0.001     # a 4 cm seal on a photographed A4 page is 0.2-0.6 % of the pixels in red ink
# ... and the red must be clustered as a seal is, not scattered specks: some window of about 1/20 of the
# long side (half a seal's diameter) must be this red. A seal's star, ring and text give 0.15-0.3.
SEAL_WINDOW = 1 / 20
SEAL_MIN_WINDOW_DENSITY = 0.08

# Markers of HTML, scripts and archives: refused in the head of the file, in metadata segments and
# after the end of the image (a polyglot that a browser or unzip would read as something else).
HEAD_BYTES = 1024
HTML_MARKERS = (b"<html", b"<script", b"<!doctype", b"<svg", b"<iframe", b"<?php", b"<body", b"javascript:")
ZIP_LOCAL, ZIP_END = b"PK\x03\x04", b"PK\x05\x06"  # both together: a real archive, not a chance match

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckedImage:
    content: bytes  # the re-encoded JPEG to store
    width: int
    height: int
    sha256: str     # hex digest of content
    kind: str


@dataclass(frozen=True)
class StoredImage:
    name: str       # in the FileStore
    width: int
    height: int
    sha256: str     # hex digest of the stored bytes
    size: int       # bytes stored


def check_and_store(kind: str, photo: bytes | Path, store_root: str) -> StoredImage:
    """check_image, then the accepted photo saved in the FileStore at store_root, both in the calling process
    (the check process: the server gets a name, never the photo). Refused: DomainError, nothing saved."""
    checked = check_image(kind, photo)
    name = FileStore(store_root).save(checked.content, "jpg")
    return StoredImage(name, checked.width, checked.height, checked.sha256, len(checked.content))


def refuse(code: str, details: dict | None = None) -> NoReturn:
    raise DomainError(code, None, details)


def check_image(kind: str, photo: bytes | Path) -> CheckedImage:
    """Check one uploaded photo of `kind` (one of KINDS) and return it re-encoded; DomainError if refused.
    `photo`: its bytes, or the file an upload streamed into (read here, in the check process: the server
    never holds the photo)."""
    if kind not in KINDS:
        raise ValueError(f"unknown image kind {kind!r}")
    if isinstance(photo, Path):
        if photo.stat().st_size > MAX_BYTES:
            refuse("image_too_large", {"max_bytes": MAX_BYTES})
        photo = photo.read_bytes()
    data = bytes(photo)
    if not data:
        refuse("image_empty")
    if len(data) > MAX_BYTES:
        refuse("image_too_large", {"max_bytes": MAX_BYTES})
    if data.startswith(JPEG_MAGIC):
        fmt, image_end, metadata = "JPEG", *_jpeg_structure(data)
    elif data.startswith(PNG_MAGIC):
        fmt, image_end, metadata = "PNG", *_png_structure(data)
    else:
        refuse("image_not_image")
    if _looks_like_other_content(data[:HEAD_BYTES]) or any(_looks_like_other_content(m) for m in metadata):
        refuse("image_polyglot")
    if image_end is None:
        refuse("image_corrupt")  # no EOI / IEND: truncated
    if _looks_like_other_content(data[image_end:]):
        refuse("image_polyglot")
    try:
        return _decode_and_check(kind, data, fmt)
    except DomainError:
        raise
    except Exception:  # hostile input can make a decoder raise anything: a message for the user, not a 500
        log.warning("refused an image Pillow could not decode", exc_info=True)
        refuse("image_corrupt")


def _decode_and_check(kind: str, data: bytes, fmt: str) -> CheckedImage:
    img = _open(data, fmt)
    width, height = img.size
    if width * height > (MAX_JPEG_PIXELS if fmt == "JPEG" else MAX_PIXELS):
        refuse("image_too_many_pixels", {"width": width, "height": height})
    if min(width, height) < MIN_SHORT_SIDE[kind]:
        refuse("image_too_small", {"min_short_side": MIN_SHORT_SIDE[kind], "width": width, "height": height})
    if fmt == "PNG" and getattr(img, "n_frames", 1) > 1:
        refuse("image_animated")

    img = _to_srgb(_decode_oriented(img))
    if max(img.size) > MAX_LONG_SIDE:
        img.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.BICUBIC)
    _check_quality(kind, img)

    out = io.BytesIO()
    img.info = {}  # Pillow would otherwise carry the JPEG comment over
    img.save(out, "JPEG", quality=JPEG_QUALITY)
    content = out.getvalue()
    return CheckedImage(content, img.width, img.height, hashlib.sha256(content).hexdigest(), kind)


def _looks_like_other_content(chunk: bytes) -> bool:
    lowered = chunk.lower()
    return any(m in lowered for m in HTML_MARKERS) or (ZIP_LOCAL in chunk and ZIP_END in chunk)


# The end of entropy-coded data: a 0xFF then a byte that is not a stuffed zero, a restart marker (0xD0-0xD7)
# or fill (0xFF; the search moves on to the last 0xFF of a run). A Python loop over every 0xFF took 4 ms of a
# 12 MP photo's check, the search 1.5 (r"\xff+..." would be slower: re tries it at every byte).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _jpeg_structure(data: bytes) -> tuple[int | None, list[bytes]]:
    """Walk the JPEG segments: (offset just after EOI or None when truncated, metadata segments)."""
    metadata, pos, n = [], 2, len(data)
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return None, metadata
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, metadata
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            pos += 2
            continue
        if pos + 4 > n:
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment_end = pos + 2 + length
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn and COM: where EXIF, XMP, comments live
            metadata.append(data[pos + 4:segment_end])
        pos = segment_end
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker that is not
            found = _SCAN_END.search(data, pos)  # a stuffed 0xFF00 or a restart marker
            if found is None:
                return None, metadata
            pos = found.start()
    return None, metadata


def _png_structure(data: bytes) -> tuple[int | None, list[bytes]]:
    """Walk the PNG chunks: (offset just after IEND or None when truncated, ancillary chunk data)."""
    metadata, pos, n = [], 8, len(data)
    while pos + 12 <= n:
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > n:
            return None, metadata
        if ctype == b"IEND":
            return end, metadata
        if ctype not in (b"IDAT", b"fdAT"):
            metadata.append(data[pos + 8:pos + 8 + length])
        pos = end
    return None, metadata


def _open(data: bytes, fmt: str) -> Image.Image:
    """Pillow's opinion must match the magic bytes; only the header is read here."""
    try:
        img = Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError:  # Pillow's own limit, from the header
        refuse("image_too_many_pixels")
    except (OSError, SyntaxError, ValueError, struct.error, EOFError):
        refuse("image_corrupt")
    # Phone JPEGs with a multi-picture (MPF) segment open as MPO; the first picture is the photo.
    if img.format not in ({"JPEG", "MPO"} if fmt == "JPEG" else {"PNG"}):
        refuse("image_not_image")
    return img


def _decode_oriented(img: Image.Image) -> Image.Image:
    """Decode (a JPEG at a reduced DCT scale when that still gives JPEG_DRAFT_SHARE of MAX_LONG_SIDE) and apply
    EXIF orientation."""
    width, height = img.size
    scale = min(1.0, MAX_LONG_SIDE * JPEG_DRAFT_SHARE / max(width, height))
    if img.format in ("JPEG", "MPO") and scale < 1:
        img.draft(None, (max(1, int(width * scale)), max(1, int(height * scale))))
    if img.width * img.height > MAX_PIXELS:  # a JPEG that DCT scaling could not bring down enough
        refuse("image_too_many_pixels", {"width": width, "height": height})
    img.load()  # raises on truncated data (LOAD_TRUNCATED_IMAGES stays False): image_corrupt
    ImageOps.exif_transpose(img, in_place=True)
    return img


def _to_srgb(img: Image.Image) -> Image.Image:
    """Plain 8-bit sRGB: 16-bit scaled down, palette and alpha flattened on white, ICC converted then dropped."""
    icc = img.info.get("icc_profile")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif img.mode == "F":
        img = img.convert("L")
    if img.mode in ("P", "PA") or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if icc and img.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            return ImageCms.profileToProfile(img, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to a plain conversion
    return img.convert("RGB") if img.mode != "RGB" else img


def _check_quality(kind: str, img: Image.Image) -> None:
    small = analysis_copy(img)
    gray = small.convert("L")
    histogram = gray.histogram()
    mean = sum(i * c for i, c in enumerate(histogram)) / (gray.width * gray.height)
    if mean < DARK_MEAN:
        refuse("image_too_dark")
    if mean > OVEREXPOSED_MEAN and _percentile(histogram, 0.001) > OVEREXPOSED_DARKEST:
        refuse("image_overexposed")
    if edge_sharpness(gray, histogram) < MIN_EDGE_SHARPNESS:
        refuse("image_blurred")
    if kind in SEALED_KINDS and not has_red_seal(small):
        refuse("image_no_seal")


def analysis_copy(img: Image.Image) -> Image.Image:
    """The image scaled down to ANALYSIS_LONG_SIDE (never up), so metrics mean the same at any resolution."""
    factor = max(img.size) // ANALYSIS_LONG_SIDE
    if factor > 1:
        img = img.reduce(factor)  # block averaging: the fast part
    scale = ANALYSIS_LONG_SIDE / max(img.size)
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BOX)
    return img


def _percentile(histogram: list[int], fraction: float) -> int:
    wanted, seen = fraction * sum(histogram), 0
    for value, count in enumerate(histogram):
        seen += count
        if seen > wanted:
            return value
    return 255


def edge_sharpness(gray: Image.Image, histogram: list[int] | None = None) -> float:
    """How steep the edges are for the image's contrast: about 0.4 / (blur width in pixels).

    A step blurred over a Gaussian of width s pixels is at most 0.4/s of its height steep. We take the
    99th percentile of the slopes of edge pixels (those steeper than EDGE_SLOPE of the contrast, so flat
    paper and lighting gradients do not count), divided by the contrast between paper and the darkest
    ink: independent of how much text the page has and of how dark the ink is. `histogram` is
    gray.histogram() when the caller has it already."""
    if histogram is None:
        histogram = gray.histogram()
    contrast = max(1, _percentile(histogram, 0.995) - _percentile(histogram, 0.001))
    slope_histogram = _slope_histogram(gray)
    edges = [0] * 256
    first = min(255, int(2 * EDGE_SLOPE * contrast) + 1)
    edges[first:] = slope_histogram[first:]
    if not sum(edges):
        return 0.0
    return _percentile(edges, 0.99) / 2 / contrast


# The numpy metrics below work on strips of this many rows of the analysis copy: their temporaries stay under
# 1 MB, where whole-image int16 arrays took 14 MB more at the check's peak (the decoded photo is alive then).
STRIP_ROWS = 32


def _slope_histogram(gray: Image.Image) -> list[int]:
    """Histogram of the slope at each pixel inside the 1-pixel border, in half grey levels (0..255): the steeper
    of the horizontal and vertical Sobel slopes, each scaled to one grey level per pixel of slope.

    These are the numbers Pillow's 3x3 Kernel filters gave (scale 8, offset 128; the border cropped, |v - 128| * 2
    capped at 255, the lighter of the two images), in integers: 5 ms instead of 10 at 1000 x 750. Pillow computes
    a pixel as (int)(offset + 0.5 + sum(weight / scale * pixel)) clipped to 0..255 in float, exact here (all are
    multiples of 1/8), so (sum + 1028) >> 3 capped at 255; it applies a kernel upside down (its first row to the
    row below), which decides how halves round: the vertical sum is the row above minus the row below."""
    histogram = np.zeros(256, np.int64)
    for top in range(0, gray.height - 2, STRIP_ROWS):  # output rows top+1.. need the rows either side
        a = np.asarray(gray.crop((0, top, gray.width, min(gray.height, top + STRIP_ROWS + 2))), dtype=np.int16)
        across = a[:, 2:] - a[:, :-2]                  # right minus left
        along = a[:, :-2] + 2 * a[:, 1:-1] + a[:, 2:]  # left + 2 centre + right
        sobel_x = across[:-2] + 2 * across[1:-1] + across[2:]
        sobel_y = along[:-2] - along[2:]
        for step in (sobel_x, sobel_y):  # in place: Pillow's level - 128, i.e. (sum + 4) >> 3, made absolute
            step += 4
            step >>= 3
            np.abs(step, out=step)
        steepest = np.maximum(sobel_x, sobel_y)  # the lighter of the two slope images
        np.minimum(steepest, 127, out=steepest)  # the level's cap at 255 (its floor at 0 is never reached)
        steepest <<= 1                           # |level - 128| * 2: at most 254, so never at its own cap
        histogram += Image.fromarray(steepest.astype(np.uint8)).histogram()
    return histogram.tolist()


def has_red_seal(img: Image.Image) -> bool:
    """Enough saturated red pixels, and clustered as a seal is (not a few scattered red specks)."""
    mask = _red_mask(img if img.mode == "RGB" else img.convert("RGB"))
    if np.count_nonzero(mask) < SEAL_MIN_SHARE * mask.size:
        return False
    red = Image.fromarray(mask)  # "L": 255 red, 0 not
    # Sliding-window density: average 4x4 blocks, then a box blur over the window.
    blocks = red.reduce(4) if min(red.size) >= 8 else red
    radius = max(1, round(max(blocks.size) * SEAL_WINDOW / 2))
    densest = blocks.filter(ImageFilter.BoxBlur(radius)).getextrema()[1]
    return densest >= SEAL_MIN_WINDOW_DENSITY * 255


def _red_mask(rgb: Image.Image) -> np.ndarray:
    """255 where the pixel has a seal's hue, saturation and value in Pillow's HSV, else 0: bit for bit the
    thresholds applied to rgb.convert("HSV"), without the conversion: 5 ms at 1000 x 750, where the conversion
    took 15 of the seal check's 19."""
    mask = np.zeros((rgb.height, rgb.width), np.uint8)
    for top in range(0, rgb.height, STRIP_ROWS):
        strip = rgb.crop((0, top, rgb.width, min(rgb.height, top + STRIP_ROWS)))
        pixels = np.frombuffer(strip.tobytes(), np.uint8).reshape(strip.height, strip.width, 3)
        planes = pixels.transpose(2, 0, 1).copy()  # contiguous r, g, b: faster than strided, cheaper than split()
        mask[top:top + STRIP_ROWS][_seal_red(*planes)] = 255
    return mask


def _seal_red(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether each pixel (r, g, b: uint8 arrays of the three channels) is seal red in Pillow's HSV.

    Pillow's rgb2hsv (libImaging/Convert.c): V = max; S = (int)(cr / max * 255.0) with cr = max - min; H from
    the branch of the largest channel. Red hues come only from the branch where r is the max: h = (g - b) / cr
    there (fmod(h / 6 + 1, 1) * 255 truncated); the green and blue branches give 42..212. Integer tests on
    every pixel keep the candidates: r the max and not dark, S and H within their thresholds as exact
    fractions (float rounding can only move a pixel that lies exactly on a threshold's fraction, and those are
    kept). Pillow's own float arithmetic then decides for the few left."""
    high, low = np.maximum(g, b), np.minimum(g, b)
    chroma = r - low  # cr where r is the max
    # S >= SEAL_MIN_SATURATION needs 255 * cr >= SEAL_MIN_SATURATION * r. H <= SEAL_HUE_LOW (when g >= b) needs
    # 255 * (g - b) <= 6 * (SEAL_HUE_LOW + 1) * cr; H >= SEAL_HUE_HIGH (when g < b) needs
    # 255 * (b - g) <= 6 * (255 - SEAL_HUE_HIGH) * cr. Products up to 255 * 255: uint16.
    hue_room = np.where(g >= b, np.uint8(6 * (SEAL_HUE_LOW + 1)), np.uint8(6 * (255 - SEAL_HUE_HIGH)))
    red = ((r >= high) & (r >= SEAL_MIN_VALUE)
           & (np.multiply(chroma, 255, dtype=np.uint16) >= np.multiply(r, SEAL_MIN_SATURATION, dtype=np.uint16))
           & (np.multiply(high - low, 255, dtype=np.uint16) <= np.multiply(chroma, hue_room, dtype=np.uint16)))
    r, g, b, low = r[red], g[red], b[red], low[red]
    # As Pillow computes them: float divisions; h / 6.0 + 1.0 and fmod in double, stored in a float;
    # (int)(x * 255.0) in double (0..255 here, so its CLIP8 changes nothing).
    cr = (r - low).astype(np.float32)
    s = cr / r.astype(np.float32)
    h = (r - b).astype(np.float32) / cr - (r - g).astype(np.float32) / cr  # bc - gc
    h = np.fmod(h.astype(np.float64) / 6.0 + 1.0, 1.0).astype(np.float32)
    hue = (h.astype(np.float64) * 255.0).astype(np.int32)
    saturation = (s.astype(np.float64) * 255.0).astype(np.int32)
    red[red] = ((hue <= SEAL_HUE_LOW) | (hue >= SEAL_HUE_HIGH)) & (saturation >= SEAL_MIN_SATURATION)
    return red
