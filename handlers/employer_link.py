"""用人单位协助回传: the graduate's request for an SMS link, and the unit's pages behind it (no login; the link's
token is the only key): the agreement summary, the PDF, and the upload of the stamped copy."""
from __future__ import annotations

import tornado.web

from documents.employer_links import AGREEMENT_PAGES, request_link, resolve_link, upload_through_link
from documents.images import MAX_BYTES
from handlers.agreements import send_agreement_pdf, send_page_preview
from handlers.base import BaseHandler, api, authorize
from handlers.errors import status_and_message
from handlers.uploads import MULTIPART_OVERHEAD, StreamedUpload, file_store
from signing.errors import DomainError
from wechat.pages import WeChatPage


class EmployerLinkRequestHandler(BaseHandler):
    @authorize("graduate.self")
    @api("Ask the unit to upload the stamped agreement (用人单位协助回传): an SMS with a 7-day link goes to the"
         " unit's contact mobile; a new link replaces the previous one", tag="documents",
         responses={"201": "{link: {id, phone_masked, expires_at}}", "409": "not waiting for the stamped copy",
                    "429": "3 per record per hour, 10 per graduate per day"})
    async def post(self, record_id):
        link = await request_link(self.db, self.redis, self.vault, self.current_user, int(record_id))
        self.write_json({"link": link}, status=201)


def render_link(page: WeChatPage, link: dict, error: str | None = None, status: int = 200) -> None:
    page.set_status(status)
    page.render("documents/employer_link.html", link=link, error=error, max_mb=MAX_BYTES // (1024 * 1024),
                pages=AGREEMENT_PAGES)


class EmployerLinkPage(WeChatPage):
    async def get(self, token):
        render_link(self, await resolve_link(self.db, self.vault, token))


class EmployerLinkPdf(WeChatPage):
    async def get(self, token):
        link = await resolve_link(self.db, self.vault, token)
        await send_agreement_pdf(self, link["record_id"])


class EmployerLinkPagePreview(WeChatPage):
    """The agreement's pages as images on the link page: a phone's webview shows no PDF inline."""

    async def get(self, token, page_number):
        link = await resolve_link(self.db, self.vault, token)
        await send_page_preview(self, link["record_id"], int(page_number))


@tornado.web.stream_request_body
class EmployerLinkUpload(StreamedUpload, WeChatPage):
    xsrf_in_form = True
    body_limit = AGREEMENT_PAGES * MAX_BYTES + MULTIPART_OVERHEAD  # one photo per page of the agreement

    async def prepare(self):
        self.refuse_declared_size()
        await super().prepare()
        self.link = await resolve_link(self.db, self.vault, self.path_args[0])  # a dead link reads no body

    async def post(self, token):
        photos = [part.path for part in self.uploaded_parts() if part.size]  # a page left empty sends none
        try:
            uploads = await upload_through_link(self.db, file_store(self), self.link, photos, self.request.remote_ip)
        except DomainError as exc:
            if not exc.code.startswith(("image_", "photo_", "upload_")):
                raise
            status, message = status_and_message(exc.code, exc.message)
            render_link(self, self.link, error=message, status=status)  # the check's message, and the form again
            return
        self.render_message("回传成功", uploads[0]["reading"]["summary"] + f"。盖章的就业协议书（{len(uploads)}张照片）"
                            "已回传，毕业生所在学校将进行签约审核。感谢您的协助！", tone="ok")


routes = [
    (r"/api/records/(\d+)/employer-link", EmployerLinkRequestHandler),
    (r"/e/([^/]+)", EmployerLinkPage),
    (r"/e/([^/]+)/agreement\.pdf", EmployerLinkPdf),
    (r"/e/([^/]+)/page-(\d)\.png", EmployerLinkPagePreview),
    (r"/e/([^/]+)/upload", EmployerLinkUpload),
]
