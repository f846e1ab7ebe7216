"""The agreement PDF (documents/pdf.py): both templates, rare characters, long terms, the QR code, and the layout
documents/pdf.py computes itself: line breaks inside cells and the page, page breaks, where the signature cell and
the QR code are."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.pdfmetrics import stringWidth

from documents import fonts
from documents.pdf import GRID_WIDTH, MARGIN, MAX_SUPPLEMENTARY_TERMS, PAGE_WIDTH, render_agreement_pdf
from documents.preview import PREVIEW_WIDTH, page_png, render_pages
from tests import agreement_photos as photos

RARE_NAME = "李䶮𠮷𡒄"  # Extension A (䶮), Extension B (𠮷, and 𡒄 which only HanaMinB has)
RARE_UNIT = "北京堃喆燚犇淼玥珺科技有限公司"
ROOT = Path(__file__).resolve().parent.parent
VERIFY_URL = "https://wangqian.example.edu.cn/verify/2026110105000123?c=9f8e7d"
DIGITS = "1234567890" * 6
LONG_URL = "https://hr.example.com/policies/" + "housing-allowance-" * 6 + "2026.pdf"  # wider than a line


def agreement(kind: str = "three_party", **changes) -> dict:
    base = {
        "agreement_type": kind,
        "agreement_number": "2026110105000123",
        "graduate": {"name": "张三", "gender": "男", "id_number_masked": "1101**********002X",
                     "school_name": "北京示范大学", "department": "计算机学院", "major": "计算机科学与技术",
                     "level": "本科", "student_number": "2022010101", "phone": "139****5678"},
        "unit": {"name": "北京示范科技有限公司", "credit_code": "91350100M000100Y43", "nature": "其他企业",
                 "industry": "信息传输、软件和信息技术服务业", "address": "北京市海淀区中关村大街1号",
                 "contact": "王经理", "contact_phone": "010-12345678", "location": "北京市海淀区"},
        "position": {"title": "软件工程师", "job_category": "计算机与应用工程技术人员", "salary": "12000元/月",
                     "start_date": date(2026, 7, 1), "work_location": "北京市"},
        "supplementary_terms": "试用期三个月。",
        "takes_hukou": True,
        "takes_archive": False,
        "handler": {"name": "赵老师", "phone": "010-88886666", "address": "北京市海淀区学院路1号", "postcode": "100083"},
        "school": {"name": "北京示范大学", "address": "北京市海淀区学院路1号", "postcode": "100083",
                   "phone": "010-88886666"},
        "verify_url": VERIFY_URL,
        "issued_at": date(2026, 5, 20),
    }
    base.update(changes)
    return base


def read(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def drawn(reader: PdfReader, page) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """What a page draws, read back from its content stream: each text run's box (x0, y0, x1, y1) from its font's
    widths (y from 0.2 of the font size below the baseline to 0.8 above), each line segment ((x0, y0), (x1, y1)),
    each picture's box. Follows the operators documents/pdf.py's canvas writes: Tm, TL, Tf, T*, Tj; m, l; cm, Do."""
    page_fonts = {name: font.get_object() for name, font in page["/Resources"]["/Font"].items()}
    boxes, segments, pictures, at, font, size, matrix = [], [], [], None, None, 0.0, None
    x = y = line_x = line_y = leading = 0.0
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"cm":
            matrix = [float(v) for v in operands]
        elif op == b"Do":
            pictures.append((matrix[4], matrix[5], matrix[4] + matrix[0], matrix[5] + matrix[3]))
        elif op == b"m":
            at = tuple(map(float, operands))
        elif op == b"l":
            segments.append((at, tuple(map(float, operands))))
            at = segments[-1][1]
        elif op == b"Tm":
            x = line_x = float(operands[4])
            y = line_y = float(operands[5])
        elif op == b"TL":
            leading = float(operands[0])
        elif op == b"Tf":
            font, size = page_fonts[operands[0]], float(operands[1])
        elif op == b"T*":
            line_y -= leading
            x, y = line_x, line_y
        elif op == b"Tj":
            codes = getattr(operands[0], "original_bytes", operands[0])
            width = sum(font["/Widths"][code - font["/FirstChar"]] for code in codes) * size / 1000
            boxes.append((x, y - 0.2 * size, x + width, y + 0.8 * size))
            x += width
    return boxes, segments, pictures


def crossing(box: tuple, segments: list[tuple]) -> list[tuple]:
    """The grid lines that run through a text box."""
    x0, y0, x1, y1 = box
    eps = 0.01
    return [((ax, ay), (bx, by)) for (ax, ay), (bx, by) in segments
            if (ax == bx and x0 + eps < ax < x1 - eps and min(ay, by) < y1 and max(ay, by) > y0)
            or (ay == by and y0 + eps < ay < y1 - eps and min(ax, bx) < x1 and max(ax, bx) > x0)]


def embedded_fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"]:
                names.add(font["/BaseFont"].split("+", 1)[-1])
    return names


def test_render_three_party_agreement_has_number_parties_and_audit():
    pdf = render_agreement_pdf(agreement("three_party"))
    assert pdf.startswith(b"%PDF")
    _, text = read(pdf)
    for expected in ("普通高等学校毕业生就业协议书", "（三方协议）", "2026110105000123", "2026年5月20日",
                     "甲方（用人单位）", "乙方（毕业生）", "丙方（学校）", "丙方审核", "北京示范科技有限公司",
                     "91350100M000100Y43", "张三", "1101**********002X", "北京示范大学", "软件工程师",
                     "12000元/月", "2026年7月1日", "接收乙方户口", "不接收乙方档案", "赵老师", "试用期三个月。"):
        assert expected in text, expected
    assert "鉴证" not in text


def test_render_two_party_agreement_is_verified_by_the_school():
    _, text = read(render_agreement_pdf(agreement("two_party")))
    for expected in ("（两方协议）", "2026110105000123", "甲方（用人单位）", "乙方（毕业生）", "鉴证方（学校）",
                     "学校鉴证", "张三", "北京示范科技有限公司", "赵老师"):
        assert expected in text, expected
    assert "丙方" not in text


def test_rare_characters_are_drawn_with_a_font_that_has_them():
    for char in RARE_NAME + RARE_UNIT:
        name = fonts.font_for(char)
        font = next(f for f in (fonts.BODY, *fonts.FALLBACKS) if f.name == name)
        assert fonts.has_glyph(fonts.load(font), char), char
    assert fonts.font_for("𡒄") == "HanaMinB"  # only the Extension B font has it

    graduate = dict(agreement()["graduate"], name=RARE_NAME)
    unit = dict(agreement()["unit"], name=RARE_UNIT)
    reader, text = read(render_agreement_pdf(agreement(graduate=graduate, unit=unit)))
    assert RARE_NAME in text and RARE_UNIT in text  # also copy/search right (ToUnicode beyond U+FFFF)
    embedded = embedded_fonts(reader)
    assert {"HanaMinA", "HanaMinB"} <= embedded and any(name.startswith("UMingCN") for name in embedded)
    # a short value made only of rare characters (it fits a cell on one line) is drawn in their font too
    only_rare = dict(agreement()["graduate"], name="𡒄")
    assert "HanaMinB" in embedded_fonts(read(render_agreement_pdf(agreement(graduate=only_rare)))[0])


def test_untrusted_text_is_printed_literally_not_as_markup():
    terms = "<b>不是标签</b> & <font name='x'>符号</font>\n第二行"
    _, text = read(render_agreement_pdf(agreement(supplementary_terms=terms)))
    assert "<b>不是标签</b> & <font name='x'>符号</font>" in text and "第二行" in text


def test_long_supplementary_terms_wrap_within_the_page():
    sentence = "甲方为乙方提供住房补贴每月一千元，缴纳五险一金，工作满三年后可申请调岗。"
    terms = (sentence * 30)[:900] + "详见" + "https://hr.example.com/" + "a" * 75
    assert len(terms) == 1000
    reader, text = read(render_agreement_pdf(agreement("two_party", supplementary_terms=terms)))
    assert len(reader.pages) >= 2
    assert terms in re.sub(r"\s+", "", text)  # every character, in order, across lines (and pages)
    width = PAGE_WIDTH - 2 * MARGIN
    lines = [line.strip() for line in text.splitlines() if line.strip() and set(line.strip()) <= set(terms)]
    assert len(lines) >= 1000 * 10.5 // width  # wrapped, not one long line
    for line in lines:
        assert stringWidth(line, fonts.BODY.name, 10.5) <= width + 1, line


def test_long_unbroken_values_wrap_inside_their_cells_and_the_page():
    """A URL or 60 digits has no place to break: it wraps inside its cell (narrow, wide, right-hand column) and, in
    the supplementary terms, inside the page; no text crosses a grid line or the right margin, on any page."""
    unit = dict(agreement()["unit"], credit_code=DIGITS, address=LONG_URL, name=RARE_UNIT * 3)
    graduate = dict(agreement()["graduate"], major=DIGITS, department="计算机学院" + RARE_NAME * 4)
    terms = f"详见{LONG_URL}，编号{DIGITS}。\n" + "甲方为乙方提供住房补贴。" * 10 + LONG_URL + DIGITS
    reader, text = read(render_agreement_pdf(agreement(unit=unit, graduate=graduate, supplementary_terms=terms)))
    flat = re.sub(r"\s+", "", text)
    for value in (DIGITS, LONG_URL, RARE_UNIT * 3, terms.replace("\n", "")):
        assert value in flat, value  # every character, in order
    lines = text.splitlines()
    assert not any(LONG_URL in line for line in lines)  # wider than a line: broken where the line is full
    # 60 digits fit on a line of the terms: carried whole onto one of their own; in the narrow cells they are broken
    assert [line for line in lines if DIGITS in line] == [f"{DIGITS}。"]
    for page in reader.pages:
        boxes, segments, _ = drawn(reader, page)
        assert boxes and segments
        for box in boxes:
            assert MARGIN <= box[0] and box[2] <= PAGE_WIDTH - MARGIN + 0.01, box
            assert not crossing(box, segments), (box, crossing(box, segments))


def test_every_text_line_of_the_sample_stays_inside_its_cell():
    """Both templates with the ordinary sample: labels, values, the signature cells and the verification text all
    inside their cells (what test_long_unbroken_values_... checks for values that have to wrap)."""
    for kind in ("two_party", "three_party"):
        reader = PdfReader(io.BytesIO(render_agreement_pdf(agreement(kind))))
        for page in reader.pages:
            boxes, segments, _ = drawn(reader, page)
            assert boxes and all(not crossing(box, segments) and box[2] <= PAGE_WIDTH - MARGIN + 0.01 for box in boxes)


def test_a_rare_character_in_a_cell_is_drawn_with_the_font_that_has_it():
    """Each run of a value goes to the font fonts.runs chose for it, and that font has the glyph (𡒄: only
    HanaMinB; 𠮷: HanaMinA), also inside a value that wraps."""
    graduate = dict(agreement()["graduate"], name=RARE_NAME, department="计算机学院" + RARE_NAME * 4)
    reader = PdfReader(io.BytesIO(render_agreement_pdf(agreement(graduate=graduate))))
    shown = []
    reader.pages[0].extract_text(visitor_text=lambda text, cm, tm, font, size: shown.append((text, font)))
    for char in RARE_NAME:
        runs = [font["/BaseFont"].split("+", 1)[-1] for text, font in shown if font is not None and char in text]
        name = fonts.font_for(char)
        assert len(runs) >= 2 and all(run.startswith(name) for run in runs), (char, runs)
        font = next(f for f in (fonts.BODY, *fonts.FALLBACKS) if f.name == name)
        assert fonts.has_glyph(fonts.load(font), char)


def test_1000_characters_of_terms_with_line_breaks_flow_onto_a_further_page():
    """Supplementary terms at the limit, in short lines: they go on onto a further page, every line kept and in
    order, and the signatures and the verification block come after them, together, on the last page."""
    lines = [f"第{i + 1}条 甲方为乙方提供住房补贴，每月一千元。" for i in range(60)]
    terms = "\n".join(lines)[:MAX_SUPPLEMENTARY_TERMS]
    assert len(terms) == MAX_SUPPLEMENTARY_TERMS and terms.count("\n") > 40
    reader, text = read(render_agreement_pdf(agreement("two_party", supplementary_terms=terms)))
    assert len(reader.pages) >= 3
    pages = [page.extract_text() for page in reader.pages]
    assert "补充条款" not in pages[-1] and "第1条" not in pages[-1] and terms.splitlines()[-1] in pages[-1]
    kept = [line.strip() for line in text.splitlines() if line.strip().startswith("第")]
    assert kept == terms.splitlines()  # one printed line per line of the terms (each fits), in order
    assert [i for i, page in enumerate(reader.pages) if page.images] == [len(pages) - 1]
    assert all(("甲方（用人单位盖章）" in page) == (i == len(pages) - 1) for i, page in enumerate(pages))


def test_the_signatures_are_never_split_from_the_verification_block():
    """Whatever the length of the terms, the signature cells and the QR code with its text are on one page, the
    last one, the cells above the code."""
    for count in range(0, 41, 3):
        terms = "\n".join(f"第{i + 1}条 甲方为乙方提供住房补贴，每月一千元。" for i in range(count))[:MAX_SUPPLEMENTARY_TERMS]
        reader = PdfReader(io.BytesIO(render_agreement_pdf(agreement(supplementary_terms=terms))))
        pages = [page.extract_text() for page in reader.pages]
        assert [i for i, page in enumerate(pages) if "甲方（用人单位盖章）" in page] == [len(pages) - 1], count
        assert VERIFY_URL in pages[-1].replace("\n", ""), count
        pictures = [drawn(reader, page)[2] for page in reader.pages]
        assert [len(p) for p in pictures] == [0] * (len(pages) - 1) + [1], count
        _, segments, [qr] = drawn(reader, reader.pages[-1])
        cells_bottom = min(min(a[1], b[1]) for a, b in segments)  # the signature cells: the page's last grid
        assert cells_bottom - qr[3] > 4 * 72 / 25.4 and qr[1] > MARGIN, count  # 4 mm or more below, on the page


def test_the_photo_tests_stamp_the_signature_cell_and_cover_the_qr_code():
    """tests/agreement_photos.py stamps the unit's seal and lays paper over the QR code at fixed places of the
    last page: the 甲方 signature cell and the QR code have to stay there."""
    for pdf in (render_agreement_pdf(agreement()), render_agreement_pdf(agreement("two_party")),
                photos.agreement("2026110105000123", "张三", "北京示范科技有限公司", "91350100M000100Y43", VERIFY_URL)):
        reader = PdfReader(io.BytesIO(pdf))
        _, segments, _ = drawn(reader, reader.pages[-1])
        first_cell = MARGIN + GRID_WIDTH / 3  # the line between the 甲方 and 乙方 signature cells
        [(bottom, top)] = [sorted((a[1], b[1])) for a, b in segments if a[0] == b[0] and abs(a[0] - first_cell) < 0.01]
        last = photos.pages(pdf)[-1]
        scale = last.width / PAGE_WIDTH
        seal = ImageChops.difference(photos.stamp([last])[0], last).getbbox()
        x, y = (seal[0] + seal[2]) / 2 / scale, last.height / scale - (seal[1] + seal[3]) / 2 / scale
        assert MARGIN < x < first_cell and bottom < y < top, (x, y, bottom, top)
        [found] = zxingcpp.read_barcodes(last.convert("L"))
        assert found.text == VERIFY_URL
        assert not zxingcpp.read_barcodes(photos.cover_qr(last).convert("L"))


def test_the_qr_code_reads_from_the_page_at_any_preview_resolution():
    """One small grayscale picture (4 pixels a module): PDFium draws it sharp enough for a reader from the 72 dpi
    preview up to print resolution."""
    reader = PdfReader(io.BytesIO(pdf := render_agreement_pdf(agreement())))
    [picture] = reader.pages[-1].images
    assert picture.image.mode == "L"
    for dpi in (72, 100, 150, 300):
        [page] = render_pages(pdf, dpi=dpi, only=len(reader.pages))
        [found] = zxingcpp.read_barcodes(page.convert("L"))
        assert found.text == VERIFY_URL, dpi


def test_supplementary_terms_over_1000_characters_are_refused():
    with pytest.raises(ValueError):
        render_agreement_pdf(agreement(supplementary_terms="字" * 1001))
    with pytest.raises(ValueError):
        render_agreement_pdf(agreement(agreement_type="four_party"))


def test_qr_code_encodes_the_verify_url():
    """The QR code is one picture in the PDF; read back with a real decoder, it gives the verify URL."""
    reader, text = read(render_agreement_pdf(agreement()))
    assert VERIFY_URL in text.replace("\n", "")
    pictures = [picture.image for page in reader.pages for picture in page.images]
    assert len(pictures) == 1
    [found] = zxingcpp.read_barcodes(pictures[0].convert("L"))
    assert found.format == zxingcpp.BarcodeFormat.QRCode and found.text == VERIFY_URL


def test_render_with_only_the_required_keys():
    _, text = read(render_agreement_pdf({"agreement_type": "two_party", "agreement_number": "X-1"}))
    assert "X-1" in text and "补充条款" in text


def test_render_is_thread_safe():
    numbers = [f"20261101050{i:05d}" for i in range(6)]
    with ThreadPoolExecutor(3) as pool:
        pdfs = list(pool.map(lambda n: render_agreement_pdf(agreement(agreement_number=n)), numbers))
    for number, pdf in zip(numbers, pdfs, strict=True):
        assert number in read(pdf)[1]


PARALLEL_PREVIEWS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from documents.preview import render_pages
pdf = sys.stdin.buffer.read()
alone = [render_pages(pdf, width=120, only=n)[0].tobytes() for n in (1, 2)]
with ThreadPoolExecutor(30) as pool:
    for _ in range(10):
        together = list(pool.map(lambda i: render_pages(pdf, width=120, only=1 + i % 2)[0].tobytes(), range(60)))
        assert together == [alone[i % 2] for i in range(60)]
print("whole")
"""


def test_page_previews_rendered_by_thirty_threads_at_once_are_each_whole():
    """PDFium is not thread-safe: parallel calls corrupt the heap (unlocked, this loop ends in a segmentation
    fault). The server renders previews in its thread pool, so 30 threads at once must each get the page they
    asked for, and the process must live on; run in a child process so a crash fails this test only."""
    pdf = render_agreement_pdf(agreement())
    child = subprocess.run([sys.executable, "-c", PARALLEL_PREVIEWS], input=pdf, capture_output=True, timeout=300,
                           cwd=ROOT)
    assert child.returncode == 0 and child.stdout.strip() == b"whole", child.stderr.decode()[-2000:]
    assert page_png(pdf, 3) is None and page_png(pdf, 0) is None
    assert Image.open(io.BytesIO(page_png(pdf, 2))).width == PREVIEW_WIDTH


def test_font_subsets_read_the_glyphs_in_place_with_the_same_result(monkeypatch):
    """fonts._get_table lets reportlab's subsetter read the `glyf` table inside the font file's bytes instead of
    copying it out for every subset: the PDF is byte for byte what reportlab's own reading makes (invariant mode
    pins its dates and ids), rare-character fonts included."""
    from reportlab import rl_config
    monkeypatch.setattr(rl_config, "invariant", 1)
    sample = agreement("three_party", graduate=dict(agreement()["graduate"], name=RARE_NAME),
                       supplementary_terms="试用期三个月，甲方为乙方提供住房补贴。" * 20)
    ours = render_agreement_pdf(sample)
    faces = [font.face for font in fonts._loaded.values() if font is not None]
    assert len(faces) >= 3 and all("get_table" in vars(face) for face in faces)
    for face in faces:
        monkeypatch.delattr(face, "get_table")  # back to reportlab's TTFontFile.get_table
    assert render_agreement_pdf(sample) == ours
