"""The agreement PDF (就业协议书): one fixed template per agreement type, in Chinese, drawn with reportlab.

- two_party: 甲方 用人单位, 乙方 毕业生; the school verifies it (鉴证).
- three_party: 甲方 用人单位, 乙方 毕业生, 丙方 学校; the school audits it (审核).

The template is drawn straight on a reportlab canvas and laid out here: a small CJK line breaker over cached
character widths (the template's own text broken once per process), a cursor that moves down the page and starts
the next one, the field grids as strings, one path of shading and one of lines, the QR code as one small grayscale
picture. reportlab's platypus (Paragraph, Table, SimpleDocTemplate, KeepTogether) drew the same pages at about
twice the cost. The geometry is platypus's as it was (text inside its 6 pt frame padding within the 20 mm margins,
grids across the margins, cells padded 6 pt left and right and 3 pt top and bottom, values vertically centred), so
the pages look the same: photos of them are read by where things are (tests/agreement_photos.py stamps the seal
cell and covers the QR code at fixed places of the last page).
"""
from __future__ import annotations

import functools
import io
import threading
from bisect import bisect_right
from datetime import date, datetime
from itertools import accumulate
from typing import NamedTuple

import zxingcpp
from PIL import Image
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from documents import fonts

AGREEMENT_TYPES = ("two_party", "three_party")
MAX_SUPPLEMENTARY_TERMS = 1000  # characters (SPEC 10)
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
FOOTER_Y = 10 * mm
QR_SIZE = 28 * mm
LABEL_SHADE = colors.HexColor("#f2f2f2")
FRAME_PADDING = 6  # points: platypus's frame padding, kept so that everything stays where it was on the page
CELL_PADDING = 6   # points: a cell's left and right padding (reportlab's default); 3 at its top and bottom
CELL_PADDING_Y = 3
TOP, BOTTOM = PAGE_HEIGHT - MARGIN - FRAME_PADDING, MARGIN + FRAME_PADDING
TEXT_LEFT = MARGIN + FRAME_PADDING
TEXT_WIDTH = PAGE_WIDTH - 2 * (MARGIN + FRAME_PADDING)
GRID_WIDTH = PAGE_WIDTH - 2 * MARGIN  # grids span the margins, 6 pt wider than the text on each side
COLUMNS = (0.2 * GRID_WIDTH, 0.3 * GRID_WIDTH, 0.2 * GRID_WIDTH, 0.3 * GRID_WIDTH)
FUZZ = 1e-6


class Style(NamedTuple):
    font: fonts.FontFile
    size: float
    leading: float


TITLE = Style(fonts.HEADING, 19, 26)
SUBTITLE = Style(fonts.BODY, 11, 16)
SECTION = Style(fonts.HEADING, 12, 18)  # 8 pt above, 4 below
BODY = Style(fonts.BODY, 10.5, 16)
CELL = Style(fonts.BODY, 10, 14)
LABEL = Style(fonts.HEADING, 10, 14)
URL = Style(fonts.BODY, 8, 16)  # the verify URL, a line of the verification text

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


def _render(a: dict, three_party: bool) -> bytes:
    graduate, unit, position = a.get("graduate") or {}, a.get("unit") or {}, a.get("position") or {}
    school, handler = a.get("school") or {}, a.get("handler") or {}
    number = str(a.get("agreement_number") or "")
    yes_no = {True: "接收", False: "不接收"}

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setTitle(f"就业协议书 {number}")
    canvas.setAuthor("毕业去向登记与网上签约平台")
    canvas.setSubject("普通高等学校毕业生就业协议书")
    canvas.setCreator("wangqian")
    page = _Page(canvas, number)

    _paragraph(page, "普通高等学校毕业生就业协议书", TITLE, centred=True, fixed=True)
    _paragraph(page, "（三方协议）" if three_party else "（两方协议）", SUBTITLE, centred=True, fixed=True)
    # One space, as platypus printed the two ideographic spaces it was given here (the page looks as it did).
    _paragraph(page, f"协议书编号：{number} 生成日期：{_format_date(a.get('issued_at'))}", SUBTITLE,
               space_before=3 * mm, centred=True)
    _paragraph(page, "甲方（用人单位）、乙方（毕业生）" + ("、丙方（学校）" if three_party else "")
               + "本着平等自愿、诚实守信的原则，经协商一致，签订本协议"
               + ("，由丙方审核。" if three_party else "，由学校鉴证。"), BODY, space_before=2 * mm, fixed=True)
    _section(page, "甲方（用人单位）")
    _grid(page, [("单位名称", unit.get("name")),
                 ("统一社会信用代码", unit.get("credit_code"), "单位性质", unit.get("nature")),
                 ("单位行业", unit.get("industry"), "单位所在地", unit.get("location")),
                 ("通讯地址", unit.get("address")),
                 ("联系人", unit.get("contact"), "联系电话", unit.get("contact_phone"))])
    _section(page, "乙方（毕业生）")
    _grid(page, [("姓名", graduate.get("name"), "性别", graduate.get("gender")),
                 ("身份证号", graduate.get("id_number_masked"), "学号", graduate.get("student_number")),
                 ("学校", graduate.get("school_name")),
                 ("院系", graduate.get("department"), "专业", graduate.get("major")),
                 ("学历层次", graduate.get("level"), "联系电话", graduate.get("phone"))])
    _section(page, "岗位及报到")
    _grid(page, [("职位名称", position.get("title"), "职位类别", position.get("job_category")),
                 ("工作地点", position.get("work_location"), "薪酬待遇", position.get("salary")),
                 ("报到日期", _format_date(position.get("start_date")), "", ""),
                 ("户口", yes_no[bool(a.get("takes_hukou"))] + "乙方户口",
                  "档案", yes_no[bool(a.get("takes_archive"))] + "乙方档案")])
    _section(page, "丙方（学校）" if three_party else "鉴证方（学校）")
    _grid(page, [("学校名称", school.get("name")),
                 ("通讯地址", school.get("address")),
                 ("邮政编码", school.get("postcode"), "联系电话", school.get("phone")),
                 ("协议经办人", handler.get("name"), "经办人电话", handler.get("phone")),
                 ("经办人地址", handler.get("address"), "经办人邮编", handler.get("postcode"))])
    _section(page, "协议条款")
    for i, term in enumerate(TERMS["three_party" if three_party else "two_party"]):
        _paragraph(page, f"{NUMERALS[i]}、{term}", BODY, fixed=True)
    _section(page, "补充条款")
    _paragraph(page, a.get("supplementary_terms") or "无", BODY)
    _signatures_and_verification(page, three_party, str(a.get("verify_url") or ""))
    page.finish()
    canvas.save()
    return out.getvalue()


class _Page:
    """The cursor: the canvas, the page's number and `y`, the top of the page's free space. All text of a page goes
    into one text object (drawn over the page's shading and lines when the page ends): positioned once per block,
    its lines follow by the leading, and a font is set only when it changes."""

    def __init__(self, canvas: Canvas, number: str):
        self.canvas, self.footer, self.page = canvas, f"协议书编号：{number}　第 {{}} 页", 0
        self._start()

    def _start(self) -> None:
        self.page += 1
        self.y = TOP
        self.canvas.setFont(fonts.BODY.name, 8)
        self.canvas.drawCentredString(PAGE_WIDTH / 2, FOOTER_Y, self.footer.format(self.page))
        self.text = self.canvas.beginText()
        self.text.setFillColor(colors.black)
        self.font = self.leading = None

    def finish(self) -> None:
        self.canvas.drawText(self.text)

    def new_page(self) -> None:
        self.finish()
        self.canvas.showPage()
        self._start()

    def fits(self, height: float) -> bool:
        return self.y - height >= BOTTOM - FUZZ

    def take(self, height: float, space_before: float = 0.0, need: float | None = None) -> float:
        """The top of a block `height` high, `space_before` below the last one (no space at a page's top), on the
        next page if less than `need` (default: the block's height) is left on this one."""
        if self.y < TOP:  # not at the top of a page
            if self.fits(space_before + (height if need is None else need)):
                self.y -= space_before
            else:
                self.new_page()
        top = self.y
        self.y -= height
        return top

    def write(self, x: float, baseline: float, lines: list[list[tuple[str, str]]], style: Style,
              centred: bool = False) -> None:
        """Lines of (font, text) runs, the first on `baseline`, each next one a leading lower; from x, or centred
        on x. A line's rare characters are runs in a fallback font."""
        t = self.text
        if self.leading != style.leading:  # set now: an empty line moves down by it before any font is set
            t.setLeading(style.leading)
            self.leading = style.leading
        if not centred:
            t.setTextOrigin(x, baseline)
        for line in lines:
            if centred:
                t.setTextOrigin(x - _line_width(line, style.size) / 2, baseline)
                baseline -= style.leading
            for i, (name, text) in enumerate(line):
                if self.font != (name, style.size, style.leading):
                    t.setFont(name, style.size, style.leading)
                    self.font = (name, style.size, style.leading)
                if i < len(line) - 1:
                    t.textOut(text)  # moves x along: the next run follows
                else:
                    t.textLine(text)
            if not line:
                t.textLine()


def _paragraph(page: _Page, text: str, style: Style, space_before: float = 0.0, centred: bool = False,
               fixed: bool = False, keep: float = 0.0) -> None:
    """Text wrapped to the text width (`fixed`: the template's own text, wrapped once per process), flowing onto the
    next pages. As platypus did, a paragraph's first line is not left alone at the foot of a page; `keep`: room
    wanted below it too, or it starts the next page."""
    lines = (_template_lines if fixed else _wrap)(text, style, TEXT_WIDTH)
    page.take(0, space_before, need=min(len(lines), 2) * style.leading + keep)
    x = PAGE_WIDTH / 2 if centred else TEXT_LEFT
    while lines:
        if not page.fits(style.leading):
            page.new_page()
        n = max(1, min(len(lines), int((page.y - BOTTOM + FUZZ) / style.leading)))
        page.write(x, page.y - style.size, lines[:n], style, centred)
        page.y -= n * style.leading
        lines = lines[n:]


def _section(page: _Page, title: str) -> None:
    """A section title, 8 pt below what comes before it and 4 pt above what follows; on the next page unless two
    lines of text or a grid's first row fit under it."""
    _paragraph(page, title, SECTION, space_before=8, fixed=True, keep=4 + 2 * BODY.leading)
    page.y -= 4


def _grid(page: _Page, rows: list[tuple]) -> None:
    """A 4-column grid of fields: a row is (label, value), the value across the three columns on the right, or
    (label, value, label, value). Labels shaded, values vertically centred; split between rows across pages."""
    edges = [MARGIN, MARGIN + COLUMNS[0], MARGIN + sum(COLUMNS[:2]), MARGIN + sum(COLUMNS[:3]), PAGE_WIDTH - MARGIN]
    drawn: list[tuple[float, float, list[float]]] = []  # this page's rows: top, height, the cells' left edges
    for row in rows:
        cells = [(0, 1, LABEL), (1, 4, CELL)] if len(row) == 2 else [(0, 1, LABEL), (1, 2, CELL), (2, 3, LABEL),
                                                                     (3, 4, CELL)]
        texts = [(_template_lines if style is LABEL else _wrap)("" if text is None else str(text), style,
                                                                 edges[end] - edges[start] - 2 * CELL_PADDING)
                 for (start, end, style), text in zip(cells, row, strict=True)]
        height = max(len(lines) for lines in texts) * CELL.leading + 2 * CELL_PADDING_Y
        if drawn and not page.fits(height):
            _draw_grid(page.canvas, drawn)
            drawn = []
        top = page.take(height)
        drawn.append((top, height, [edges[start] for start, _, _ in cells]))
        middle = top - height / 2
        for (start, _, style), lines in zip(cells, texts, strict=True):
            if lines != [[]]:  # as reportlab: a cell's first baseline is a font size below its centred block's top
                page.write(edges[start] + CELL_PADDING, middle + len(lines) * style.leading / 2 - style.size, lines,
                           style)
    _draw_grid(page.canvas, drawn)


def _draw_grid(canvas: Canvas, rows: list[tuple[float, float, list[float]]], shade: bool = True) -> None:
    """The shading of the label cells (the first and, in two-field rows, the third) and the 0.5 pt lines of rows
    drawn one under the other: each in one path, so a line shared by two cells is drawn once."""
    right, bottom = PAGE_WIDTH - MARGIN, rows[-1][0] - rows[-1][1]
    if shade:
        fill = canvas.beginPath()
        for top, height, lefts in rows:
            for i in range(0, len(lefts), 2):
                fill.rect(lefts[i], top - height, lefts[i + 1] - lefts[i], height)
        canvas.setFillColor(LABEL_SHADE)
        canvas.drawPath(fill, stroke=0, fill=1)
    lines = canvas.beginPath()
    for top, _, _ in rows:
        lines.moveTo(MARGIN, top)
        lines.lineTo(right, top)
    lines.moveTo(MARGIN, bottom)
    lines.lineTo(right, bottom)
    opened: dict[float, float] = {}  # a vertical line's x -> where it starts, while rows below go on having it
    for top, _, lefts in rows:
        for x in [x for x in opened if x not in lefts]:
            lines.moveTo(x, opened.pop(x))
            lines.lineTo(x, top)
        for x in lefts:
            opened.setdefault(x, top)
    for x, start in [*opened.items(), (right, rows[0][0])]:
        lines.moveTo(x, start)
        lines.lineTo(x, bottom)
    canvas.setLineWidth(0.5)
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    canvas.setStrokeColor(colors.black)
    canvas.drawPath(lines, stroke=1, fill=0)


def _signatures_and_verification(page: _Page, three_party: bool, url: str) -> None:
    """The three signature cells (party, four blank lines, the date), then the QR code and the verify URL: 6 mm
    below the terms, on the next page together when they do not fit on this one."""
    parties = ["甲方（用人单位盖章）", "乙方（毕业生签字）", "丙方（学校审核盖章）" if three_party else "鉴证（学校盖章）"]
    width = GRID_WIDTH / 3
    cells = [_template_lines(party, BODY, width - 2 * CELL_PADDING) + [[]] * 3
             + _template_lines("年 月 日", BODY, width - 2 * CELL_PADDING)  # as platypus printed 年　　月　　日
             for party in parties]
    signatures = max(len(lines) for lines in cells) * BODY.leading + 2 * CELL_PADDING_Y
    text_left = MARGIN + QR_SIZE + 4 * mm + CELL_PADDING  # the QR's column: the code and 4 mm
    text_width = PAGE_WIDTH - MARGIN - CELL_PADDING - text_left
    intro = _template_lines("扫描二维码或访问以下地址，核验本协议的编号、各方信息及审核状态：", BODY, text_width)
    link = _wrap(url, URL, text_width) if url else []
    verification = max(QR_SIZE, (len(intro) + len(link)) * BODY.leading) + 2 * CELL_PADDING_Y

    top = page.take(signatures + 4 * mm + verification, space_before=6 * mm)
    _draw_grid(page.canvas, [(top, signatures, [MARGIN + i * width for i in range(3)])], shade=False)
    for i, lines in enumerate(cells):
        page.write(MARGIN + i * width + CELL_PADDING, top - CELL_PADDING_Y - BODY.size, lines, BODY)
    middle = top - signatures - 4 * mm - verification / 2
    page.canvas.drawImage(ImageReader(qr_image(url)), MARGIN, middle - QR_SIZE / 2, QR_SIZE, QR_SIZE)
    baseline = middle + (len(intro) + len(link)) * BODY.leading / 2 - BODY.size
    page.write(text_left, baseline, intro, BODY)
    page.write(text_left, baseline - len(intro) * BODY.leading, link, URL)


def qr_image(url: str) -> Image.Image:
    """The QR code (error correction M) as one small grayscale picture, encoded by zxing-cpp (already ours for
    reading photos). Grayscale ('L') is embedded as is, a byte a pixel: reportlab turned the '1' picture it was into
    RGB and ASCII85-encoded three times the bytes in Python. At 4 pixels a module (164 for a verify URL) PDFium
    draws the same pixels as from the 8 they were at 72, 100 and 150 dpi (previews, the photo tests), and all but
    a few edge pixels at 300; at 1 or 2 the 100 dpi preview's module edges come out blurred or uneven."""
    code = zxingcpp.create_barcode(url or " ", zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    return Image.fromarray(zxingcpp.write_barcode_to_image(code, scale=4, add_quiet_zones=True))


# Line breaking. A line may break between any two characters except inside a run of ASCII letters, digits and
# signs (a word, a number, a URL) that fits on a line, before closing punctuation and after opening punctuation.
# Spaces, and a closing punctuation mark that fits in the padding on the right (reportlab let it too), may hang
# past the width.
HANG = 6  # points: the right padding of a cell, and of platypus's frame around the text
_NO_LINE_START = frozenset("，。、；：！？）」』》〉】〕’”…,.;:!?)]}")
_NO_LINE_END = frozenset("（「『《〈【〔‘“([{")
_widths: dict[tuple[str, float], dict[str, float]] = {}  # (font, size) -> character -> width
_plain: dict[str, set[str]] = {}  # font -> characters fonts.runs draws in it as the primary font
_CONTROLS = {code: " " for code in [*range(32), 127] if code != 10}  # a tab or a stray control: a space, not a box


def _char_widths(run: str, font: str, size: float) -> list[float]:
    table = _widths.setdefault((font, size), {})
    for char in set(run).difference(table):
        table[char] = stringWidth(char, font, size)
    return [table[char] for char in run]


def _line_width(line: list[tuple[str, str]], size: float) -> float:
    return sum(sum(_char_widths(text, name, size)) for name, text in line)


def _is_word(char: str) -> bool:
    return "!" <= char <= "~"


def _may_break(before: str, after: str) -> bool:
    return (not (_is_word(before) and _is_word(after)) and after not in _NO_LINE_START
            and before not in _NO_LINE_END)


def _wrap(text: str, style: Style, width: float) -> list[list[tuple[str, str]]]:
    """Text as lines no wider than `width`, each line a list of (font, text) runs (fonts.runs: a rare character in
    a font that has it). Line breaks in the text are kept; a text without any is one empty line."""
    lines = []
    plain = _plain.setdefault(style.font.name, set())
    for part in text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROLS).split("\n"):
        if plain.issuperset(part):  # most text: all in the primary font, known without asking for each character
            runs = [(style.font.name, part)] if part else []
        else:
            runs = fonts.runs(part, style.font)
            plain.update(*(run for name, run in runs if name == style.font.name))
        ends = [0.0, *accumulate(w for name, run in runs for w in _char_widths(run, name, style.size))]
        cuts = [0]
        while ends[-1] - ends[cuts[-1]] > width + FUZZ:  # the rest does not fit on one line
            start = cuts[-1]
            over = max(start + 1, bisect_right(ends, ends[start] + width + FUZZ) - 1)  # the first that does not fit
            while over < len(part) and (part[over] == " " or (part[over] in _NO_LINE_START
                                                              and ends[over + 1] - ends[start] <= width + HANG)):
                over += 1  # hangs
            cut = over
            while start < cut < len(part) and not _may_break(part[cut - 1], part[cut]):
                cut -= 1
            if cut < over:  # carry a word (or the character before a ，) over, if it fits on a line
                end = over + 1
                while end < len(part) and _is_word(part[end - 1]) and _is_word(part[end]):
                    end += 1
                if cut == start or ends[end] - ends[cut] > width:  # it does not: break in it
                    cut = over - 1 if part[over] in _NO_LINE_START and over - 1 > start else over
            if cut >= len(part):
                break
            cuts.append(cut)
        cuts.append(len(part))
        spans, at = [], 0  # each run's place in the part
        for name, run in runs:
            spans.append((at, at + len(run), name))
            at += len(run)
        for a, b in zip(cuts, cuts[1:], strict=False):
            lines.append([(name, part[max(a, s):min(b, e)]) for s, e, name in spans if s < b and e > a])
    return lines


# The template's own text (labels, titles, terms) is laid out once per process; the lists are shared, never changed.
_template_lines = functools.lru_cache(maxsize=None)(_wrap)


def _format_date(value) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)
