"""Page images of the agreement PDF, for previews where a phone's webview shows no PDF inline (WeChat on Android,
most mobile browsers in a frame): each page rendered to a PNG by PDFium (pypdfium2).

PDFium is not thread-safe, not even across documents (pypdfium2's docs: parallel calls "would crash or corrupt
the process"), and previews are rendered in the server's thread pool: every PDFium call goes through
`render_pages` under one process-wide lock, and each page and bitmap is closed inside it rather than left to the
garbage collector, which may run in any thread."""
from __future__ import annotations

import io
import threading

import pypdfium2
from PIL import Image

PREVIEW_WIDTH = 900  # pixels: the page's text stays legible when zoomed on a phone, a page weighs ~150 KB
PDFIUM = threading.Lock()


def render_pages(pdf: bytes, *, dpi: float | None = None, width: int | None = None,
                 only: int | None = None) -> list[Image.Image]:
    """The PDF's pages as PIL images, at `dpi` or scaled to `width` pixels; `only` (1-based) renders one page,
    and an empty list means the PDF has no such page."""
    with PDFIUM:
        doc = pypdfium2.PdfDocument(pdf)
        try:
            numbers = range(len(doc)) if only is None else [only - 1] if 1 <= only <= len(doc) else []
            images = []
            for i in numbers:
                page = doc[i]
                scale = dpi / 72 if dpi else width / page.get_width()
                bitmap = page.render(scale=scale)
                images.append(bitmap.to_pil().copy())  # our own pixels: the bitmap is freed below
                bitmap.close()
                page.close()
            return images
        finally:
            doc.close()


def page_png(pdf: bytes, page_number: int) -> bytes | None:
    """Page `page_number` (1-based) as a PNG, or None when the PDF has no such page."""
    images = render_pages(pdf, width=PREVIEW_WIDTH, only=page_number)
    if not images:
        return None
    out = io.BytesIO()
    # The agreement is black on white: grey is enough. zlib's default level, not optimize=True: that tried every
    # strategy for 3 % fewer bytes at 7 times the time (120 vs 16 ms a page, most of a preview request).
    images[0].convert("L").save(out, "PNG")
    return out.getvalue()
