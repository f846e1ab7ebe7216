"""The agreement PDF (就业协议书) of an approved agreement, and the public page its QR code opens."""
from __future__ import annotations

from urllib.parse import quote

import tornado.web

from documents.agreements import ensure_document, require_pdf_reader, verification
from documents.preview import page_png
from documents.uploads import run_blocking
from handlers.base import BaseHandler, api, authorize
from handlers.uploads import file_store
from signing.errors import DomainError
from wechat.pages import WeChatPage


async def agreement_pdf(handler: tornado.web.RequestHandler, record_id: int) -> tuple[dict, bytes]:
    """The record's agreement document row and PDF, rendered now if the job has not done it yet."""
    store = file_store(handler)
    doc = await ensure_document(handler.application.db, store, handler.application.config.public_base_url, record_id)
    try:
        return doc, await run_blocking(store.read, doc["storage_name"])
    except FileNotFoundError as exc:
        raise DomainError("not_found") from exc


async def send_page_preview(handler: tornado.web.RequestHandler, record_id: int, page_number: int) -> None:
    """One page of the agreement as a PNG (documents/preview.py)."""
    _, pdf = await agreement_pdf(handler, record_id)
    image = await run_blocking(page_png, pdf, page_number)
    if image is None:
        raise DomainError("not_found")
    handler.set_header("Content-Type", "image/png")
    handler.set_header("Cache-Control", "private, no-store")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(image)


async def send_agreement_pdf(handler: tornado.web.RequestHandler, record_id: int) -> None:
    """Answer the record's agreement PDF, rendered now if the job has not done it yet."""
    doc, content = await agreement_pdf(handler, record_id)
    filename = f"就业协议书-{doc['agreement_number']}.pdf"
    handler.set_header("Content-Type", "application/pdf")
    # inline: WeChat's webview shows a PDF it is given to display, and handles downloads badly
    handler.set_header("Content-Disposition", f"inline; filename=\"agreement-{doc['agreement_number']}.pdf\";"
                                              f" filename*=UTF-8''{quote(filename)}")
    handler.set_header("Cache-Control", "private, no-store")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(content)


class AgreementPdfHandler(BaseHandler):
    @authorize("records.read")
    @api("The agreement PDF of an approved agreement (application/pdf): for the graduate, the employer party of"
         " an online signing and the school/department staff who see the record", tag="documents",
         responses={"404": "no such record for this caller, or no approved agreement"}, produces="application/pdf")
    async def get(self, record_id):
        await require_pdf_reader(self.db, self.current_user, int(record_id))
        await send_agreement_pdf(self, int(record_id))


class VerifyPage(WeChatPage):
    """Public, no login: whoever scans the QR code learns whether the agreement stands, and nothing personal
    beyond the masked name."""

    async def get(self, token):
        info = await verification(self.db, token[:100])
        self.render("documents/verify.html", **info)


routes = [
    (r"/api/records/(\d+)/agreement\.pdf", AgreementPdfHandler),
    (r"/verify/([^/]+)", VerifyPage),
]
