"""The agreement PDF (documents/pdf.py): both templates, rare characters, long terms, the QR code."""
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
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from documents import fonts
from documents.pdf import MARGIN, PAGE_WIDTH, render_agreement_pdf
from documents.preview import PREVIEW_WIDTH, page_png

RARE_NAME = "李䶮𠮷𡒄"  # Extension A (䶮), Extension B (𠮷, and 𡒄 which only HanaMinB has)
RARE_UNIT = "北京堃喆燚犇淼玥珺科技有限公司"
ROOT = Path(__file__).resolve().parent.parent
VERIFY_URL = "https://wangqian.example.edu.cn/verify/2026110105000123?c=9f8e7d"


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
