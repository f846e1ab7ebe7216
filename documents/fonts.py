"""CJK fonts for the agreement PDF, with per-character fallback for rare characters in names and addresses.

reportlab embeds TrueType-outline fonts only (not CFF/OTF such as Noto CJK), so we use Debian's
(installed by scripts/bootstrap.sh, ensure_fonts):
- body "AR PL UMing CN" (fonts-arphic-uming): a Song/Ming face, as printed agreements use;
- headings "WenQuanYi Zen Hei" (fonts-wqy-zenhei): a Hei face, all of the basic block and Extension A;
- fallbacks "HanaMinA" / "HanaMinB" (fonts-hanazono): the rest of the basic block and Extension A
  (e.g. 䶮), then Extensions B-F (e.g. 𠮷). Loaded only when a text needs them (about 50 MB).
"""
from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
INSTALL_HINT = "install the fonts with scripts/bootstrap.sh (Debian: fonts-arphic-uming fonts-wqy-zenhei fonts-hanazono)"


@dataclass(frozen=True)
class FontFile:
    name: str          # the name registered with reportlab
    file: str          # file name, looked for under FONT_DIRS
    subfont: int = 0   # index inside a .ttc collection


BODY = FontFile("UMingCN", "uming.ttc", 0)
HEADING = FontFile("WQYZenHei", "wqy-zenhei.ttc", 0)
FALLBACKS = (FontFile("HanaMinA", "HanaMinA.ttf"), FontFile("HanaMinB", "HanaMinB.ttf"))

_lock = threading.Lock()
_loaded: dict[str, TTFont | None] = {}  # registered name -> font, or None when its file is missing


def _find(file: str) -> str | None:
    for root in FONT_DIRS:
        for folder, _, files in os.walk(root):
            if file in files:
                return os.path.join(folder, file)
    return None


def load(font: FontFile, required: bool = True) -> TTFont | None:
    """Register a font with reportlab once per process (thread safe); None if optional and missing."""
    if font.name in _loaded:
        return _loaded[font.name]
    with _lock:
        if font.name not in _loaded:
            path = _find(font.file)
            if path is None:
                if required:
                    raise RuntimeError(f"font file {font.file} not found under {FONT_DIRS}: {INSTALL_HINT}")
                log.warning("fallback font %s not found: rare characters may not render (%s)", font.file, INSTALL_HINT)
                _loaded[font.name] = None
            else:
                # asciiReadable=False: a subset holds only the glyphs a PDF uses. By default reportlab puts all
                # 95 ASCII glyphs in every font's first subset (so ASCII reads as ASCII in the content stream),
                # which for four CJK fonts was about a fifth of the agreement PDF's time; the text still
                # extracts through the ToUnicode map.
                tt = TTFont(font.name, path, subfontIndex=font.subfont, asciiReadable=False)
                tt.face.get_table = functools.partial(_get_table, tt.face)
                pdfmetrics.registerFont(tt)
                _loaded[font.name] = tt
    return _loaded[font.name]


class _GlyphTable:
    """A font's `glyf` table as reportlab's subsetter reads it, one glyph's bytes at a time (TTFontFace.makeSubset
    slices it and nothing else), seen in the font file's bytes instead of copied out of them: reportlab copied the
    whole table for every subset of every PDF, 17 MB for the body font (about 4 ms, and 17 MB more memory at once)."""

    def __init__(self, data: bytes, start: int, length: int):
        self._view = memoryview(data)[start:start + length]

    def __getitem__(self, index: slice) -> bytes:
        return bytes(self._view[index])

    def __len__(self) -> int:
        return len(self._view)


def _get_table(face: ttfonts.TTFontFace, tag: str):
    pos, length = face.get_table_pos(tag)
    if tag == "glyf":
        return _GlyphTable(face._ttf_data, pos, length)
    return face._ttf_data[pos:pos + length]


def has_glyph(font: TTFont, char: str) -> bool:
    return ord(char) in font.face.charToGlyph


def font_for(char: str, primary: FontFile = BODY) -> str:
    """The registered name of the first font (primary, then the fallbacks) that has a glyph for char."""
    main = load(primary)
    if char.isspace() or has_glyph(main, char):
        return primary.name
    for fallback in FALLBACKS:
        tt = load(fallback, required=False)
        if tt is not None and has_glyph(tt, char):
            return fallback.name
    return primary.name  # nothing has it: the primary font's empty box


def runs(text: str, primary: FontFile = BODY) -> list[tuple[str, str]]:
    """Split text into (font name, text) runs, each run drawn with a font that has its glyphs."""
    result: list[tuple[str, str]] = []
    for char in text:
        name = font_for(char, primary)
        if result and result[-1][0] == name:
            result[-1] = (name, result[-1][1] + char)
        else:
            result.append((name, char))
    return result


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode map with characters beyond U+FFFF written as UTF-16 surrogate pairs.

    reportlab writes them as 5 hex digits, so copying or searching the PDF's text gives the wrong
    character for e.g. 𠮷 (U+20BB7); the glyphs themselves are drawn right either way."""
    def utf16(code: int) -> str:
        return chr(code).encode("utf-16-be", "surrogatepass").hex().upper()
    lines = [
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
        f"<< /Registry ({fontname})", f"/Ordering ({fontname})", "/Supplement 0", ">> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def", "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>", "endcodespacerange", f"{len(subset)} beginbfchar",
        *(f"<{i:02X}> <{utf16(code)}>" for i, code in enumerate(subset)),
        "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ]
    return "\n".join(lines)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap
