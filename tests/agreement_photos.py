"""Photos of our own agreement PDF, made by the tests: the PDF rendered to an image (pypdfium2), stamped (a red
seal on the unit's signature cell, a half seal across the edge of the first page as 骑缝章), then photographed in
software: on a desk, in perspective, turned, blurred, under a shadow, saved as a phone-quality JPEG."""
from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from documents.pdf import render_agreement_pdf
from documents.preview import render_pages
from tests.image_corpus import draw_seal

DPI = 150
DESK = (118, 95, 72)
PHONE = (1536, 2048)      # 3 MP: most photos (fast to make and to read)
TWELVE_MP = (3000, 4000)  # a real-size phone photo


def pages(pdf: bytes, dpi: int = DPI) -> list[Image.Image]:
    # through the server's PDFium lock: a live server in this process may be rendering a preview
    return [image.convert("RGB") for image in render_pages(pdf, dpi=dpi)]


def stamp(page_images: list[Image.Image]) -> list[Image.Image]:
    """The unit's seal on the signature cell of the last page (甲方 用人单位盖章), and a 骑缝章 across the right
    edge of every other page."""
    stamped = [p.copy() for p in page_images]
    for i, page in enumerate(stamped):
        w, h = page.size
        if i == len(stamped) - 1:
            draw_seal(page, (int(w * 0.24), int(h * 0.33)), int(w * 0.085))
        else:
            draw_seal(page, (int(w * 0.985), int(h * 0.55)), int(w * 0.085))
    return stamped


def cover_qr(page: Image.Image) -> Image.Image:
    """The signature page with its QR code torn off / covered (white paper over it)."""
    page = page.copy()
    w, h = page.size
    ImageDraw.Draw(page).rectangle((int(w * 0.08), int(h * 0.39), int(w * 0.25), int(h * 0.51)), fill=(250, 250, 248))
    return page


def photograph(page: Image.Image, size: tuple[int, int] = PHONE, angle: float = 3.0, tilt: float = 0.04,
               blur: float = 0.9, shadow: bool = True, quality: int = 80, seed: int = 1) -> bytes:
    """The page as a phone photographs it: on a desk, keystoned (the top farther away), turned by `angle`
    degrees, softened, a shadow across one side, sensor noise, JPEG at `quality`."""
    width, height = size
    page_h = int(height * 0.9)
    page_w = int(page_h * page.width / page.height)
    scene = Image.new("RGB", size, DESK)
    scene.paste(page.resize((page_w, page_h), Image.Resampling.BICUBIC), ((width - page_w) // 2, (height - page_h) // 2))
    d = width * tilt  # the top edge samples a wider span: it comes out narrower
    scene = scene.transform(size, Image.Transform.QUAD, (-d, 0, 0, height, width, height, width + d, 0),
                            Image.Resampling.BICUBIC, fillcolor=DESK)
    scene = scene.rotate(angle, Image.Resampling.BICUBIC, fillcolor=DESK)
    if shadow:  # a hand's or phone's shadow: darker towards one corner, down to 60 %
        light = Image.linear_gradient("L").rotate(40 + seed * 7).resize(size).point(lambda v: 255 - v * 100 // 255)
        scene = Image.merge("RGB", [ImageChops.multiply(c, light) for c in scene.split()])
    noise = Image.effect_noise(size, 6).point(lambda v: v - 128 + 128)
    scene = Image.merge("RGB", [ImageChops.add(c, noise, 1, -128) for c in scene.split()])
    scene = scene.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    scene.save(out, "JPEG", quality=quality)
    return out.getvalue()


def agreement(number: str, graduate_name: str, unit_name: str, credit_code: str, verify_url: str | None) -> bytes:
    """An agreement PDF of our template with the given identity (for the other-person and paper cases)."""
    return render_agreement_pdf({
        "agreement_type": "three_party", "agreement_number": number,
        "graduate": {"name": graduate_name, "gender": "男", "id_number_masked": "110105********0011",
                     "school_name": "北京示范大学", "department": "计算机学院", "major": "软件工程", "level": "本科"},
        "unit": {"name": unit_name, "credit_code": credit_code, "address": "北京市海淀区中关村大街1号"},
        "position": {"title": "软件工程师"}, "school": {"name": "北京示范大学"},
        "verify_url": verify_url, "issued_at": "2026年6月1日"})


def stamped_copy(pdf: bytes) -> bytes:
    """A phone photo of the stamped signature page (with the QR) of an agreement PDF: what a unit uploads."""
    return photograph(stamp(pages(pdf))[-1])
