"""The agreement PDF (就业协议书): one fixed template per agreement type, in Chinese, drawn with reportlab.

- two_party: 甲方 用人单位, 乙方 毕业生; the school verifies it (鉴证).
- three_party: 甲方 用人单位, 乙方 毕业生, 丙方 学校; the school audits it (审核).
"""
from __future__ import annotations

import io
import threading
from datetime import date, datetime
from xml.sax.saxutils import escape

import zxingcpp
from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from documents import fonts

AGREEMENT_TYPES = ("two_party", "three_party")
MAX_SUPPLEMENTARY_TERMS = 1000  # characters (SPEC 10)
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
FOOTER_Y = 10 * mm
QR_SIZE = 28 * mm
LABEL_SHADE = colors.HexColor("#f2f2f2")
CELL_PADDING = 6  # points: reportlab's default left and right padding of a table cell

# reportlab keeps per-document font-subset state inside the shared font objects; one render at a time
# keeps that simple (a render takes tens of milliseconds).
_render_lock = threading.Lock()

TERMS = {
    "three_party": [
        "甲方如实介绍本单位情况及拟聘岗位的工作内容、工作条件、薪酬待遇等信息，按照国家有关规定接收乙方，"
        "并为乙方办理报到、落户及档案接收等手续。",
        "乙方如实向甲方介绍本人情况，按期取得毕业证书和学位证书，按照约定的报到日期到甲方报到。",
        "丙方对本协议进行审核，审核通过后将乙方的毕业去向如实登记并上报，协助办理档案转递和户口迁移手续。",
        "本协议经甲方盖章、乙方签字、丙方审核通过后生效，一式三份，三方各执一份。"
        "本协议以网上签约平台记录为准，可扫描二维码核验。",
        "协议生效后，任何一方不得擅自解除；确需解除的，应协商一致，经丙方审核后按平台解约流程办理。",
        "乙方报到后，甲乙双方应依法订立劳动（聘用）合同，合同约定的条件不得低于本协议的约定。",
        "未尽事宜由甲乙双方在补充条款中约定；补充条款与本协议具有同等效力，但不得违反国家法律法规。",
    ],
    "two_party": [
        "甲方如实介绍本单位情况及拟聘岗位的工作内容、工作条件、薪酬待遇等信息，按照国家有关规定接收乙方，"
        "并为乙方办理报到、落户及档案接收等手续。",
        "乙方如实向甲方介绍本人情况，按期取得毕业证书和学位证书，按照约定的报到日期到甲方报到。",
        "学校对本协议进行鉴证，鉴证通过后将乙方的毕业去向如实登记并上报，协助办理档案转递和户口迁移手续。",
        "本协议经甲方盖章、乙方签字、学校鉴证后生效，一式两份，甲乙双方各执一份。"
        "本协议以网上签约平台记录为准，可扫描二维码核验。",
        "协议生效后，任何一方不得擅自解除；确需解除的，应协商一致，经学校鉴证后按平台解约流程办理。",
        "乙方报到后，甲乙双方应依法订立劳动（聘用）合同，合同约定的条件不得低于本协议的约定。",
        "未尽事宜由甲乙双方在补充条款中约定；补充条款与本协议具有同等效力，但不得违反国家法律法规。",
    ],
}
NUMERALS = "一二三四五六七八九十"


def render_agreement_pdf(agreement: dict) -> bytes:
    """The agreement as PDF bytes. Thread safe; fonts are registered once per process.

    `agreement` keys (missing optional values print blank):
      agreement_type     "two_party" | "three_party" (required)
      agreement_number   协议书编号 (required)
      graduate           {name, gender, id_number_masked, school_name, department, major, level,
                          student_number, phone}                                       乙方 毕业生
      unit               {name, credit_code, nature, industry, address, contact, contact_phone,
                          location}                                                    甲方 用人单位
      position           {title, job_category, salary, start_date, work_location}      岗位
      supplementary_terms  补充条款, at most 1000 characters (line breaks kept), may be empty
      takes_hukou, takes_archive   bool: whether the unit takes the graduate's 户口 / 档案
      handler            {name, phone, address, postcode}: the school's 协议经办人 for the graduate's level
      school             {name, address, postcode, phone}        (丙方 in three-party, 鉴证方 in two-party)
      verify_url         the QR code points here
      issued_at          date, datetime or string                生成日期
    ValueError for an unknown agreement_type or supplementary terms over 1000 characters.
    """
    kind = agreement.get("agreement_type")
    if kind not in AGREEMENT_TYPES:
        raise ValueError(f"agreement_type must be one of {AGREEMENT_TYPES}, not {kind!r}")
    terms = agreement.get("supplementary_terms") or ""
    if len(terms) > MAX_SUPPLEMENTARY_TERMS:
        raise ValueError(f"supplementary_terms longer than {MAX_SUPPLEMENTARY_TERMS} characters")
    fonts.load(fonts.BODY)
    fonts.load(fonts.HEADING)
    with _render_lock:
        return _render(agreement, kind == "three_party")


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=fonts.BODY.name, fontSize=10.5, leading=16, wordWrap="CJK")
    return {
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=10, leading=14),
        "label": ParagraphStyle("label", parent=body, fontName=fonts.HEADING.name, fontSize=10, leading=14),
        "title": ParagraphStyle("title", parent=body, fontName=fonts.HEADING.name, fontSize=19, leading=26,
                                alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=11, leading=16, alignment=TA_CENTER),
        "section": ParagraphStyle("section", parent=body, fontName=fonts.HEADING.name, fontSize=12, leading=18,
                                  spaceBefore=8, spaceAfter=4),
    }


def markup(text, style: ParagraphStyle) -> str:
    """Paragraph markup for untrusted text: escaped, with each rare character in a font that has it."""
    primary = fonts.HEADING if style.fontName == fonts.HEADING.name else fonts.BODY
    parts = []
    for name, run in fonts.runs("" if text is None else str(text), primary):
        escaped = escape(run).replace("\n", "<br/>")
        parts.append(escaped if name == primary.name else f'<font name="{name}">{escaped}</font>')
    return "".join(parts)


def _p(text, style: ParagraphStyle) -> Paragraph:
    return Paragraph(markup(text, style), style)


def _render(a: dict, three_party: bool) -> bytes:
    s = _styles()
    graduate, unit, position = a.get("graduate") or {}, a.get("unit") or {}, a.get("position") or {}
    school, handler = a.get("school") or {}, a.get("handler") or {}
    number = str(a.get("agreement_number") or "")
    school_party = "丙方（学校）" if three_party else "鉴证方（学校）"
    yes_no = {True: "接收", False: "不接收"}

    story = [
        _p("普通高等学校毕业生就业协议书", s["title"]),
        _p("（三方协议）" if three_party else "（两方协议）", s["subtitle"]),
        Spacer(1, 3 * mm),
        _p(f"协议书编号：{number}　　生成日期：{_format_date(a.get('issued_at'))}", s["subtitle"]),
        Spacer(1, 2 * mm),
        _p("甲方（用人单位）、乙方（毕业生）" + ("、丙方（学校）" if three_party else "")
           + "本着平等自愿、诚实守信的原则，经协商一致，签订本协议"
           + ("，由丙方审核。" if three_party else "，由学校鉴证。"), s["body"]),
        _p("甲方（用人单位）", s["section"]),
        _fields(s, [("单位名称", unit.get("name"), True),
                    ("统一社会信用代码", unit.get("credit_code")), ("单位性质", unit.get("nature")),
                    ("单位行业", unit.get("industry")), ("单位所在地", unit.get("location")),
                    ("通讯地址", unit.get("address"), True),
                    ("联系人", unit.get("contact")), ("联系电话", unit.get("contact_phone"))]),
        _p("乙方（毕业生）", s["section"]),
        _fields(s, [("姓名", graduate.get("name")), ("性别", graduate.get("gender")),
                    ("身份证号", graduate.get("id_number_masked")), ("学号", graduate.get("student_number")),
                    ("学校", graduate.get("school_name"), True),
                    ("院系", graduate.get("department")), ("专业", graduate.get("major")),
                    ("学历层次", graduate.get("level")), ("联系电话", graduate.get("phone"))]),
        _p("岗位及报到", s["section"]),
        _fields(s, [("职位名称", position.get("title")), ("职位类别", position.get("job_category")),
                    ("工作地点", position.get("work_location")), ("薪酬待遇", position.get("salary")),
                    ("报到日期", _format_date(position.get("start_date"))), ("", ""),
                    ("户口", yes_no[bool(a.get("takes_hukou"))] + "乙方户口"),
                    ("档案", yes_no[bool(a.get("takes_archive"))] + "乙方档案")]),
        _p(school_party, s["section"]),
        _fields(s, [("学校名称", school.get("name"), True),
                    ("通讯地址", school.get("address"), True),
                    ("邮政编码", school.get("postcode")), ("联系电话", school.get("phone")),
                    ("协议经办人", handler.get("name")), ("经办人电话", handler.get("phone")),
                    ("经办人地址", handler.get("address")), ("经办人邮编", handler.get("postcode"))]),
        _p("协议条款", s["section"]),
        *[_p(f"{NUMERALS[i]}、{term}", s["body"]) for i, term in enumerate(TERMS["three_party" if three_party
                                                                                 else "two_party"])],
        _p("补充条款", s["section"]),
        _p(a.get("supplementary_terms") or "无", s["body"]),
        Spacer(1, 6 * mm),
        KeepTogether([_signatures(s, three_party), Spacer(1, 4 * mm), _verification(s, a.get("verify_url"))]),
    ]

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont(fonts.BODY.name, 8)
        canvas.drawCentredString(PAGE_WIDTH / 2, FOOTER_Y, f"协议书编号：{number}　第 {doc.page} 页")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"就业协议书 {number}", author="毕业去向登记与网上签约平台",
                            subject="普通高等学校毕业生就业协议书", creator="wangqian")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _value(text, style: ParagraphStyle, width: float):
    """A value cell: a plain string when it fits on one line in the cell's own font (most do, and a string needs
    no paragraph layout), else a paragraph that wraps and draws rare characters in a font that has them."""
    text = "" if text is None else str(text)
    if "\n" not in text and all(name == style.fontName for name, _ in fonts.runs(text, fonts.BODY)) \
            and stringWidth(text, style.fontName, style.fontSize) <= width - 2 * CELL_PADDING:
        return text
    return _p(text, style)


def _fields(s: dict, fields: list[tuple]) -> Table:
    """A 4-column grid (label, value, label, value); a field marked wide takes a whole row. Labels are plain
    strings in the label font, values paragraphs (they wrap, and may need a rare-character font)."""
    width = PAGE_WIDTH - 2 * MARGIN
    widths = [0.2 * width, 0.3 * width, 0.2 * width, 0.3 * width]
    rows, shading, pending = [], [], []
    for label, value, *wide in fields:
        if wide and wide[0]:
            rows.append([label, _value(value, s["cell"], sum(widths[1:])), "", ""])
            shading.append(("SPAN", (1, len(rows) - 1), (3, len(rows) - 1)))
            continue
        if not pending:  # a row of two fields: its second label is shaded too
            shading.append(("BACKGROUND", (2, len(rows)), (2, len(rows)), LABEL_SHADE))
        pending.append((label, value))
        if len(pending) == 2:
            rows.append([cell for lab, val in pending for cell in (lab, _value(val, s["cell"], widths[1]))])
            pending = []
    if pending:
        rows.append([pending[0][0], _value(pending[0][1], s["cell"], widths[1]), "", ""])
    table = Table(rows, colWidths=widths)
    label, cell = s["label"], s["cell"]  # strings are drawn in their column's font: labels ours, values short
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("FONT", (0, 0), (-1, -1), cell.fontName, cell.fontSize, cell.leading),
        ("FONT", (0, 0), (0, -1), label.fontName, label.fontSize, label.leading),
        ("FONT", (2, 0), (2, -1), label.fontName, label.fontSize, label.leading),
        ("BACKGROUND", (0, 0), (0, -1), LABEL_SHADE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        *shading,
    ]))
    return table


def _signatures(s: dict, three_party: bool) -> Table:
    parties = ["甲方（用人单位盖章）", "乙方（毕业生签字）",
               "丙方（学校审核盖章）" if three_party else "鉴证（学校盖章）"]
    cells = [[Paragraph(f"{markup(party, s['body'])}<br/><br/><br/><br/>年　　月　　日", s["body"])
              for party in parties]]
    width = PAGE_WIDTH - 2 * MARGIN
    table = Table(cells, colWidths=[width / 3] * 3)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def qr_image(url: str) -> Image:
    """The QR code (error correction M) as one small picture, encoded by zxing-cpp (already ours for reading
    photos): drawn as vector squares by reportlab's pure-Python encoder it was half the render."""
    code = zxingcpp.create_barcode(url or " ", zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    picture = PILImage.fromarray(zxingcpp.write_barcode_to_image(code, scale=8, add_quiet_zones=True))
    buffer = io.BytesIO()
    picture.convert("1").save(buffer, "PNG")
    buffer.seek(0)
    return Image(buffer, width=QR_SIZE, height=QR_SIZE)


def _verification(s: dict, url) -> Table:
    url = str(url or "")
    drawing = qr_image(url)
    text = Paragraph(markup("扫描二维码或访问以下地址，核验本协议的编号、各方信息及审核状态：", s["body"])
                     + '<br/><font size="8">' + markup(url, s["body"]) + "</font>", s["body"])
    width = PAGE_WIDTH - 2 * MARGIN
    table = Table([[drawing, text]], colWidths=[QR_SIZE + 4 * mm, width - QR_SIZE - 4 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return table


def _format_date(value) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)
