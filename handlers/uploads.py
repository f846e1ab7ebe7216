"""Uploads: a photo from the phone (multipart, streamed to a file as it arrives), a photo from WeChat
(wx.uploadImage media id), and the stored photo for those entitled to it.

The body limit is enforced while the body streams in: the declared Content-Length is refused before a byte is
read, and a body that grows past the limit (chunked, or lying about its length) is answered with 413 as soon
as it passes it, and the connection closed (the only way not to read the rest)."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import tornado.web
from pydantic import Field as ModelField
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, MultipartState, parse_options_header

from documents import recognition
from documents.images import KINDS, MAX_BYTES
from documents.storage import FileStore
from documents.uploads import READ_KINDS, accept_upload, run_blocking, viewable_upload
from handlers.base import BaseHandler, api, authorize
from handlers.models import Body, Query
from signing import policy
from signing.errors import DomainError
from wechat.client import WeChatError
from wechat.service import wechat_of

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and a few small fields around the photo
UPLOAD_BODY_LIMIT = MAX_BYTES + MULTIPART_OVERHEAD
# What a form of ours sends at most (an agreement's pages, _xsrf and a few fields), with room; more is no form of
# ours, refused as it streams in (a 10 MB body of tiny parts would otherwise open thousands of files)
MAX_FILE_PARTS, MAX_FORM_FIELDS = 8, 32
UploadKind = Literal[KINDS]  # Literal takes the tuple as its values
log = logging.getLogger(__name__)
spool_cleaner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload-spool")


def file_store(handler: tornado.web.RequestHandler) -> FileStore:
    return FileStore(handler.application.config.upload_dir)


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a streamed form, as it was written to disk while it arrived (deleted when the request ends)."""
    filename: str
    path: Path
    size: int

    def read(self) -> bytes:
        return self.path.read_bytes()


class StreamedUpload:
    """For @stream_request_body handlers (before the page or API base class): the multipart body is parsed as it
    arrives (python-multipart), each file part written to a file of its own in a folder of this request, so the
    server never holds a photo in memory or copies it: the check process reads it from there. The folder goes
    when the request ends, answered or not. Call refuse_declared_size() first thing in prepare(), and
    uploaded_file() in the method."""

    body_limit = UPLOAD_BODY_LIMIT
    xsrf_in_form = False  # page forms carry _xsrf inside the streamed body: checked once the body is read
    _form_read = False
    _form: FormParser | None = None
    _spool: str | None = None
    _form_error: str | None = None  # the code to answer with once the body has arrived

    def check_xsrf_cookie(self):
        if not self.xsrf_in_form or self._form_read:
            super().check_xsrf_cookie()

    def too_large(self) -> DomainError:
        return DomainError("image_too_large", None, {"max_bytes": MAX_BYTES})

    def refuse_declared_size(self) -> None:
        self._fields: list[Field] = []
        self._files: list[File] = []
        self._file_parts = 0
        self.refuse_oversized_body()

    def data_received(self, chunk: bytes) -> None:
        if self._finished or self._form_error:  # handlers.base.BoundedBody stops the body at body_limit
            return
        try:
            if self._form is None:  # the first chunk: prepare() has let the request in
                self._form = self._form_parser()
            self._form.write(chunk)
        except OSError:  # the spool folder is full or gone: ours to fix, the body is not the user's fault
            log.exception("an upload could not be written to %s", self._spool)
            self._form_error = "upload_unavailable"
        except FormParserError:
            self._form_error = "upload_form_invalid"

    def _form_parser(self) -> FormParser:
        kind, options = parse_options_header(self.request.headers.get("Content-Type", ""))
        if kind != b"multipart/form-data" or not options.get(b"boundary"):
            raise FormParserError("not a multipart form")
        self._spool = tempfile.mkdtemp(prefix="upload-", dir=self.application.config.upload_spool_dir or None)
        return FormParser("multipart/form-data", self._on_field, self._on_file,
                          boundary=options[b"boundary"],
                          config={"UPLOAD_DIR": self._spool, "UPLOAD_DELETE_TMP": False, "MAX_MEMORY_FILE_SIZE": 0})

    def _on_field(self, field: Field) -> None:
        self._fields.append(field)
        if len(self._fields) > MAX_FORM_FIELDS:
            raise FormParserError("too many fields")

    def _on_file(self, part: File) -> None:
        self._file_parts += 1
        if part.field_name == b"file":
            self._files.append(part)
        else:
            part.close()  # not ours to read: its file goes with the folder, its descriptor now
        if self._file_parts > MAX_FILE_PARTS:  # each is a file created, and ours hold it open until the end
            raise FormParserError("too many files")

    def on_finish(self) -> None:
        self._discard_spool()
        super().on_finish()

    def on_connection_close(self) -> None:  # the client went away, maybe half-way through the body
        self._discard_spool()
        super().on_connection_close()

    def _discard_spool(self) -> None:
        for part in getattr(self, "_files", ()):
            part.close()
        self._form = None
        if self._spool:  # in a thread: unlinking a photo's file frees its pages, ~1.5 ms the loop need not wait for
            spool_cleaner.submit(shutil.rmtree, self._spool, ignore_errors=True)
            self._spool = None

    def uploaded_file(self) -> Path:
        return self.uploaded_part().path

    def uploaded_part(self) -> UploadedFile:
        return self.uploaded_parts()[0]

    def uploaded_parts(self) -> list[UploadedFile]:
        """The 'file' parts of the multipart body, in order; its other fields become request arguments
        (e.g. _xsrf)."""
        if self._form is not None and self._form.parser.state != MultipartState.END:
            self._form_error = self._form_error or "upload_form_invalid"  # the body ended inside a part
        if self._form_error:
            raise DomainError(self._form_error)
        for field in self._fields:
            name, value = field.field_name.decode(errors="replace"), field.value or b""
            self.request.body_arguments.setdefault(name, []).append(value)
            self.request.arguments.setdefault(name, []).append(value)
        if self.xsrf_in_form:
            self._form_read = True
            self.check_xsrf_cookie()
        parts = [UploadedFile(os.path.basename(part.file_name or b"").decode(errors="replace"),
                              Path(os.fsdecode(part.actual_file_name)) if part.actual_file_name
                              else self._empty_part(), part.size) for part in self._files]
        if not parts:
            raise DomainError("upload_file_missing")
        return parts

    def _empty_part(self) -> Path:
        """A part with no bytes never reaches the disk (a page of a form left empty): an empty file for it."""
        fd, path = tempfile.mkstemp(dir=self._spool)
        os.close(fd)
        return Path(path)


class UploadQuery(Query):
    kind: UploadKind = ModelField(description="stamped-agreement 盖章协议书, paper-agreement 纸质协议, cancellation-letter 解约函,"
                                         " destination-proof 去向证明材料")
    record_id: int | None = ModelField(None, ge=1, description="the graduate's record the agreement photo is for: a stamped"
                                  " copy is compared with its agreement (QR, number, name) and refused when it shows"
                                  " another; without it a stamped copy is kept as to be checked by the auditor")


async def photo_facts(handler: BaseHandler, kind: str, record_id: int | None) -> dict | None:
    """The facts a graduate's agreement photo is compared with: those of their own record `record_id`."""
    if record_id is None or kind not in READ_KINDS:
        return None
    facts = await recognition.agreement_facts(handler.db, record_id)
    if facts is None or facts["graduate_id"] != handler.current_user.graduate_id:
        raise DomainError("photo_record_invalid")
    return facts


class WeChatUploadBody(Body):
    kind: UploadKind
    media_id: str = ModelField(min_length=1, max_length=128, description="serverId from wx.uploadImage")
    record_id: int | None = ModelField(None, ge=1, description="as in POST /api/uploads")


def upload_answer(handler: BaseHandler, upload: dict) -> None:
    handler.write_json({"upload": upload}, status=201)


@tornado.web.stream_request_body
class UploadHandler(StreamedUpload, BaseHandler):
    async def prepare(self):
        self.refuse_declared_size()
        await super().prepare()  # the session, before the body is read
        if self.current_user is None:
            raise DomainError("not_logged_in")
        policy.require(self.current_user, "graduate.self")
        query = self.query_args(UploadQuery)
        self.kind, self.record_id = query.kind, query.record_id

    @authorize("graduate.self")
    @api("Upload a photo (multipart field 'file', at most 10 MB): checked at once, stored re-encoded; refused"
         " photos keep their own code and message", query=UploadQuery, tag="uploads",
         content_type="multipart/form-data",
         responses={"201": "accepted: {upload: {id, kind, width, height, bytes, reading: {status, status_text,"
                           " summary, checks} (agreement photos; null otherwise)}}", "413": "too large",
                    "415": "not a JPG/PNG photo", "422": "a photo we cannot accept (dark, blurred, no seal, another"
                    " agreement: photo_* codes, details.checks what was read)"})
    async def post(self):
        content = self.uploaded_file()
        facts = await photo_facts(self, self.kind, self.record_id)
        upload_answer(self, await accept_upload(self.db, file_store(self), self.kind, content,
                                                graduate_id=self.current_user.graduate_id,
                                                uploaded_by=self.current_user.user_id, facts=facts))


class WeChatUploadHandler(BaseHandler):
    @authorize("graduate.self")
    @api("Upload a photo chosen in WeChat (wx.uploadImage): downloaded by its media id, then the same checks",
         body=WeChatUploadBody, tag="uploads",
         responses={"201": "accepted", "400": "media id unknown or expired", "503": "WeChat unavailable"})
    async def post(self):
        body = self.json_body(WeChatUploadBody)
        try:
            content, _ = await wechat_of(self.application).api.download_media(body.media_id)
        except WeChatError as exc:
            # WeChat's refusal of the media id (40007: unknown, or expired after 3 days) is the user's to fix;
            # timeouts, busy answers and token trouble are ours
            invalid = exc.errcode is not None and exc.permanent
            raise DomainError("wechat_media_invalid" if invalid else "wechat_unavailable") from exc
        facts = await photo_facts(self, body.kind, body.record_id)
        upload_answer(self, await accept_upload(self.db, file_store(self), body.kind, content,
                                                graduate_id=self.current_user.graduate_id,
                                                uploaded_by=self.current_user.user_id, facts=facts))


class EmployerDocumentQuery(Query):
    document: Literal["licence", "authorisation"] = ModelField(
        description="licence 加盖公章的营业执照; authorisation 加盖公章和个人身份证的网签授权书")


async def store_certification_document(handler: BaseHandler, document: str, content: bytes) -> dict:
    """The employer's licence or authorisation photo (API and employer pages), checked as a stamped page (a red
    seal included); the latest replaces the previous one."""
    actor = handler.current_user
    upload = await accept_upload(handler.db, file_store(handler), f"employer-{document}", content,
                                 graduate_id=None, uploaded_by=actor.user_id, employer_id=actor.employer_id,
                                 check_as="stamped-agreement")
    column = "licence_upload_id" if document == "licence" else "authorisation_upload_id"
    async with handler.db.transaction() as cur:
        await cur.execute(f"UPDATE employers SET {column}=%s WHERE id=%s", (upload["id"], actor.employer_id))
    return upload


@tornado.web.stream_request_body
class EmployerDocumentHandler(StreamedUpload, BaseHandler):
    """Real-name certification: the unit's stamped business licence and the signing officer's stamped
    authorisation letter, checked like every photo (a visible red seal included) before the administrator
    decides."""

    async def prepare(self):
        self.refuse_declared_size()
        await super().prepare()
        if self.current_user is None:
            raise DomainError("not_logged_in")
        policy.require(self.current_user, "employer.self")
        self.document = self.query_args(EmployerDocumentQuery).document

    @authorize("employer.self")
    @api("Upload a certification document (multipart field 'file'); the latest replaces the previous one",
         query=EmployerDocumentQuery, tag="employers", content_type="multipart/form-data",
         responses={"201": "accepted", "413": "too large", "422": "a photo we cannot accept"})
    async def post(self):
        upload_answer(self, await store_certification_document(self, self.document, self.uploaded_file()))


class UploadFileHandler(BaseHandler):
    @authorize("uploads.read")
    @api("The stored photo (image/jpeg): for the graduate it belongs to and for whoever may see its record",
         tag="uploads", responses={"404": "no such upload for this caller"}, produces="image/jpeg")
    async def get(self, upload_id):
        row = await viewable_upload(self.db, self.current_user, int(upload_id))
        try:
            content = await run_blocking(file_store(self).read, row["storage_name"])
        except (FileNotFoundError, ValueError) as exc:
            raise DomainError("not_found") from exc
        self.set_header("Content-Type", "image/jpeg")
        self.set_header("Content-Disposition", f'inline; filename="upload-{row["id"]}.jpg"')
        self.set_header("Cache-Control", "private, no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(content)


routes = [
    (r"/api/employer/certification-documents", EmployerDocumentHandler),
    (r"/api/uploads", UploadHandler),
    (r"/api/uploads/wechat", WeChatUploadHandler),
    (r"/api/uploads/(\d+)", UploadFileHandler),
]
