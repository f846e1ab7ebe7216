"""Test images made on the fly (no binary files in the repository): phone-like photos of a stamped
agreement and every way an upload can be wrong."""
from __future__ import annotations

import functools
import io
import math
import random
import struct
import zipfile
import zlib

from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageEnhance, ImageFilter, ImageFont

PAGE = (1240, 1754)  # A4 at 150 dpi: a typical phone photo of a page, cropped
SEAL_RED = (205, 35, 40)
LINES = ["EMPLOYMENT AGREEMENT No. 2026-110105-000123", "Party A (employer): Beijing Demo Technology Co., Ltd.",
         "Party B (graduate): Zhang San, Computer Science, Bachelor", "Position: software engineer, Beijing",
         "Salary: 12000 per month; start date 2026-07-01", "Hukou: taken by the unit; archive: taken by the unit",
         "Supplementary terms: probation three months, housing allowance provided."]


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def agreement_page(size: tuple[int, int] = PAGE, seal: bool = True, lines: int = 28) -> Image.Image:
    """A white page with a title, form lines of text, table rules and (optionally) a red round seal."""
    width, height = size
    page = Image.new("RGB", size, (250, 250, 247))
    draw = ImageDraw.Draw(page)
    unit = width / 1240
    draw.text((width * 0.22, 70 * unit), "GRADUATE EMPLOYMENT AGREEMENT", fill=(15, 15, 15), font=_font(int(40 * unit)))
    body = _font(int(24 * unit))
    rng = random.Random(7)
    y = 170 * unit
    for i in range(lines):
        text = LINES[i % len(LINES)] + " " + " ".join(rng.choice(["terms", "unit", "graduate", "school", "date"])
                                                      for _ in range(rng.randint(1, 5)))
        draw.text((90 * unit, y), text, fill=(20, 20, 25), font=body)
        draw.line((80 * unit, y + 38 * unit, width - 80 * unit, y + 38 * unit), fill=(60, 60, 60), width=max(1, int(2 * unit)))
        y += 50 * unit
    if seal:
        draw_seal(page, (int(width * 0.7), int(height * 0.82)), int(150 * unit))
    return page


def draw_seal(page: Image.Image, centre: tuple[int, int], radius: int) -> None:
    """A round company seal: red ring, star, and letters around the ring, in slightly translucent ink."""
    ink = Image.new("L", page.size, 0)
    draw = ImageDraw.Draw(ink)
    x, y = centre
    ring = max(2, radius // 16)
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=255, width=ring)
    star = [(x + radius * 0.3 * f * _cos(a), y - radius * 0.3 * f * _sin(a))
            for k in range(10) for a, f in [(90 + 36 * k, 1.0 if k % 2 == 0 else 0.4)]]
    draw.polygon(star, fill=255)
    font = _font(max(8, radius // 5))
    text = "BEIJING DEMO TECHNOLOGY CO LTD"
    for i, ch in enumerate(text):
        angle = 200 - i * (220 / len(text))
        glyph = Image.new("L", (radius // 4, radius // 4), 0)
        ImageDraw.Draw(glyph).text((2, 0), ch, fill=255, font=font)
        glyph = glyph.rotate(angle - 90, expand=True)
        gx = int(x + radius * 0.72 * _cos(angle) - glyph.width / 2)
        gy = int(y - radius * 0.72 * _sin(angle) - glyph.height / 2)
        ink.paste(glyph, (gx, gy), glyph)
    draw.text((x - radius * 0.45, y + radius * 0.35), "CONTRACT SEAL", fill=255, font=_font(max(8, radius // 7)))
    ink = ink.point(lambda v: v * 85 // 100)  # ink is a bit translucent
    page.paste(Image.new("RGB", page.size, SEAL_RED), (0, 0), ink)


def _cos(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def _sin(degrees: float) -> float:
    return math.sin(math.radians(degrees))


def as_photo(page: Image.Image, seed: int = 1, desk: bool = True) -> Image.Image:
    """What a phone makes of the page: on a desk, uneven light, sensor noise, slight lens softness."""
    scene = page
    if desk:
        scene = Image.new("RGB", (int(page.width * 1.08), int(page.height * 1.06)), (120, 96, 70))
        scene.paste(page, (int(page.width * 0.04), int(page.height * 0.03)))
    light = Image.linear_gradient("L").rotate(35).resize(scene.size).point(lambda v: 215 + v * 40 // 255)
    noise = Image.effect_noise(scene.size, 5 + seed % 3)
    channels = [ImageChops.add(ImageChops.multiply(c, light), noise, 1, -128) for c in scene.split()]
    return Image.merge("RGB", channels).filter(ImageFilter.GaussianBlur(0.6))


def jpeg(img: Image.Image, quality: int = 90, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, **params)
    return out.getvalue()


def png(img: Image.Image, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", **{"compress_level": 1, **params})
    return out.getvalue()


def stamped_photo(size: tuple[int, int] = PAGE, seal: bool = True) -> Image.Image:
    return _stamped_photo(size, seal).copy()


@functools.cache
def _stamped_photo(size: tuple[int, int], seal: bool) -> Image.Image:
    return as_photo(agreement_page(size, seal=seal))


# --- the corpus: name -> bytes -------------------------------------------------------------------

def sharp_stamped_jpeg() -> bytes:
    return jpeg(stamped_photo())


def progressive_jpeg() -> bytes:
    return jpeg(stamped_photo(), progressive=True)


def with_exif_gps_and_comment() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"               # Make
    exif[0x0110] = "Phone 15"                 # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (39.0, 54.0, 27.0)  # latitude
    return jpeg(stamped_photo(), exif=exif, comment=b"taken at home")


def blurred() -> bytes:
    return jpeg(stamped_photo().filter(ImageFilter.GaussianBlur(6)))


def dark() -> bytes:
    return jpeg(ImageEnhance.Brightness(stamped_photo()).enhance(0.18))


def overexposed() -> bytes:
    return jpeg(stamped_photo().point(lambda v: min(255, 170 + v)))


def too_small() -> bytes:
    return jpeg(stamped_photo().resize((420, 594)))


def rotated_exif_6() -> bytes:
    """Stored sideways (as the sensor saw it) with orientation 6: viewers turn it 90 degrees clockwise."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg(stamped_photo().transpose(Image.Transpose.ROTATE_90), exif=exif)


def cmyk_jpeg() -> bytes:
    return jpeg(stamped_photo().convert("CMYK"))


def png_16_bit() -> bytes:
    gray = stamped_photo().convert("L")
    wide = gray.convert("I").point(lambda v: v * 257)  # 0..255 -> 0..65535
    return png(wide.convert("I;16"))


def png_with_alpha() -> bytes:
    """A document with transparent margins: they must come out white, not black."""
    page = stamped_photo().convert("RGBA")
    alpha = Image.new("L", page.size, 0)
    ImageDraw.Draw(alpha).rectangle((60, 60, page.width - 60, page.height - 60), fill=255)
    page.putalpha(alpha)
    return png(page)


def palette_png() -> bytes:
    return png(stamped_photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=128))


def grayscale_scan() -> bytes:
    """A clean scanner/scan-app page: pure white paper, black text, no noise (must not count as overexposed)."""
    return png(agreement_page(seal=False).convert("L").point(lambda v: 255 if v > 200 else 0))


def clean_scan_with_seal() -> bytes:
    return jpeg(agreement_page(), quality=92)


def sparse_page() -> bytes:
    """A sharp photo of a page with little text (a short letter) must not count as blurred."""
    return jpeg(as_photo(agreement_page(lines=5)))


def short_letter() -> bytes:
    """A clean scan of a short letter: three lines on a white page (must not count as overexposed or blurred)."""
    return png(agreement_page(seal=False, lines=3).convert("L").point(lambda v: 255 if v > 200 else 0))


def with_icc_profile() -> bytes:
    """A photo carrying an ICC profile (as iPhones do with Display P3): converted to sRGB, then dropped."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return jpeg(stamped_photo(), icc_profile=profile)


def large_scan() -> bytes:
    """A 3600 x 5091 (18 MP) scan: stored downscaled to 4000 px on the long side."""
    return jpeg(agreement_page((3600, 5091)), quality=80)


def jpeg_48_megapixels() -> bytes:
    """8000 x 6000, as a phone's 48 MP mode takes (grey, to keep the test light): decoded at half scale."""
    page = agreement_page((4243, 6000), seal=False).convert("L")
    scene = Image.new("L", (8000, 6000), 110)
    scene.paste(page, (1800, 0))
    return jpeg(scene, quality=80)


def proof_sized() -> bytes:
    """600 x 848: enough for a destination proof, too small for an agreement."""
    return jpeg(stamped_photo().resize((600, 848), Image.Resampling.LANCZOS))


def too_large() -> bytes:
    return b"\xff\xd8\xff\xe0" + bytes(10 * 1024 * 1024)


def mpo_phone_photo() -> bytes:
    """Many phones add a second picture (depth map, HDR gain map) through an MPF segment."""
    out = io.BytesIO()
    photo = stamped_photo()
    photo.save(out, "MPO", save_all=True, append_images=[photo.resize((320, 452)).convert("L").convert("RGB")])
    return out.getvalue()


def animated_png() -> bytes:
    frames = [stamped_photo().resize((800, 1130)), stamped_photo().resize((800, 1130)).rotate(3, fillcolor="white")]
    return png(frames[0], save_all=True, append_images=frames[1:], duration=200)


def animated_gif() -> bytes:
    out = io.BytesIO()
    frames = [stamped_photo().convert("P"), stamped_photo().rotate(3).convert("P")]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    stamped_photo().convert("P").save(out, "GIF")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    stamped_photo().save(out, "WEBP")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = sharp_stamped_jpeg()
    return data[: len(data) * 2 // 3]


def truncated_png() -> bytes:
    data = png(stamped_photo())
    return data[: len(data) // 2]


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def png_bomb(side: int = 20000) -> bytes:
    """A complete, valid 1-bit all-white PNG of side x side pixels (400 MP) in a few tens of kilobytes."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_huge_header(side: int = 50000) -> bytes:
    """An IHDR declaring side x side RGB pixels (7.5 GB decoded) over one tiny row of data."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\xff" * 300)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def jpeg_huge_header() -> bytes:
    """A small JPEG whose frame header is patched to claim 60000 x 60000 pixels."""
    data = bytearray(jpeg(Image.new("RGB", (800, 800), "white")))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def polyglot_html() -> bytes:
    return sharp_stamped_jpeg() + b"<html><body><script>alert(document.cookie)</script></body></html>"


def polyglot_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("payload.html", "<p>hello</p>")
    return sharp_stamped_jpeg() + archive.getvalue()


def png_polyglot_html() -> bytes:
    return png(stamped_photo()) + b"\n<!DOCTYPE html><html><script src=//x.example/a.js></script>"


def html_in_head() -> bytes:
    """A JPEG whose comment segment (at the head of the file) holds a script."""
    return jpeg(stamped_photo(), comment=b"<script>alert(1)</script>")


def trailing_phone_data() -> bytes:
    """Some phones append binary data after the end of the JPEG (motion photos): harmless, accepted."""
    return sharp_stamped_jpeg() + b"\x00\x00\x00\x18ftypmp42" + bytes(random.Random(3).randbytes(4000))


def text_renamed_jpg() -> bytes:
    return "这不是图片，只是改了扩展名的文本文件\n".encode()


def html_file() -> bytes:
    return b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>"


def pdf_file() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def zip_file() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.jpg", sharp_stamped_jpeg())
    return archive.getvalue()


def empty() -> bytes:
    return b""


def no_seal() -> bytes:
    return jpeg(stamped_photo(seal=False))


def phone_photo(size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 12-megapixel landscape phone JPEG of a stamped page (for the benchmark)."""
    page = agreement_page((int(size[1] * 0.9 / 1.4142), int(size[1] * 0.9)))
    scene = Image.new("RGB", size, (118, 95, 72))
    scene.paste(page, ((size[0] - page.width) // 2, (size[1] - page.height) // 2))
    return jpeg(as_photo(scene, desk=False), quality=92)
