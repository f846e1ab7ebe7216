"""Page images of the agreement PDF, for previews where a phone's webview shows no PDF inline (WeChat on Android,
most mobile browsers in a frame): each page rendered to a PNG by PDFium (pypdfium2)."""
from __future__ import annotations

import io

import pypdfium2

PREVIEW_WIDTH = 900  # pixels: the page's text stays legible when zoomed on a phone, a page weighs ~150 KB


def page_png(pdf: bytes, page_number: int) -> bytes | None:
    """Page `page_number` (1-based) as a PNG, or None when the PDF has no such page."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        if not 1 <= page_number <= len(doc):
            return None
        page = doc[page_number - 1]
        image = page.render(scale=PREVIEW_WIDTH / page.get_width()).to_pil()
        out = io.BytesIO()
        image.convert("L").save(out, "PNG", optimize=True)  # the agreement is black on white: grey is enough
        return out.getvalue()
    finally:
        doc.close()
