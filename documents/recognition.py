"""Does the stamped photo show this agreement? The QR code (zxing-cpp) and the text (RapidOCR, whose Chinese
models ship inside its wheel: nothing is downloaded) are read from the photo, then compared with the record.

- Online and offline agreements (our PDF: the QR to /verify/<token> and 协议书编号 on every page): a QR of ours
  with another token, an agreement number read that is not this one, or the 乙方 姓名 field showing another
  name refuse the upload with their own code; a page where neither the QR nor the number can be read, or the
  signature page without a readable QR, asks for a retake.
- Paper agreements (补登, printed elsewhere): the text is kept with the upload and compared with the
  registration (graduate name, unit name, credit code) when the auditor opens it; differences are shown, never
  refused (the registration does not exist yet when its photo is uploaded).

Reading is CPU work of about a second: it runs in a small process pool (created on first use, reused), on a
reduced copy of the checked photo, within BUDGET_SECONDS. When the budget is exceeded, or the reader fails, the
upload is kept with status to_check for the auditor: never lost, never refused for our own slowness.

match() and compare() below are the one place for the matching rules."""
from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import documents.errors  # noqa: F401  (registers the error codes)
from documents.pools import background_pool
from signing.errors import DomainError
from signing.personal import mask_id_number, mask_phone

log = logging.getLogger("wangqian.recognition")

QR_LONG_SIDE = 2000    # zxing reads a 28 mm QR on a photographed A4 page at this size (and at 1200 already)
OCR_LONG_SIDE = 1000   # the page about 900 px wide: 10.5 pt text ~12 px high, what the detector needs
# Only lines up to this share of the widest line are recognised: fields, numbers, labels and page footers. Body
# paragraphs (full width) carry nothing we compare and cost most of the recognition time.
SHORT_LINE = 0.65
# Lines are recognised REC_BATCH at a time in reading order, and no further once a number and every field of
# FIELD_LABELS were read (the first page's tables below 乙方 and the terms are never needed).
REC_BATCH = 3  # small batches: the recogniser's memory grows with batch x widest line
DET_BAND, DET_OVERLAP = 256, 64  # rows of the detection copy per pass (see _detect)
MMAP_THRESHOLD = 4 * 1024 * 1024  # see _release_large_blocks
NUMBER_STRETCH = 1.5  # lines with 编号 are read again this much wider (see _ocr_lines)
MIN_SCORE = 0.5        # recogniser confidence below which a line is dropped
BUDGET_SECONDS = 10.0  # per photo, queueing included; beyond it the upload is kept as to_check
WORKERS = max(1, min(2, os.cpu_count() or 1))

STAMPED_KINDS = ("online", "offline")  # the platform's own PDF, with QR and number
MATCHED, DIFFERENCES, TO_CHECK = "matched", "differences", "to_check"
STATUS_TEXT = {MATCHED: "与协议一致", DIFFERENCES: "与登记信息不一致", TO_CHECK: "待人工核对"}
SIGNATURE_LABELS = ("用人单位盖章", "毕业生签字")  # the signature page of our PDF, which also carries the QR
FIELD_LABELS = {"graduate_name": ("姓名",), "unit_name": ("单位名称",), "credit_code": ("社会信用代码", "信用代码")}
# Every label of our PDF's field grids (documents/pdf.py; a test keeps the two the same): a box holding one of
# them is never a field's value. With the name's own box not found, 姓名's nearest neighbour is 性别.
GRID_LABELS = frozenset({
    "单位名称", "统一社会信用代码", "单位性质", "单位行业", "单位所在地", "通讯地址", "联系人", "联系电话",
    "姓名", "性别", "身份证号", "学号", "学校", "院系", "专业", "学历层次",
    "职位名称", "职位类别", "工作地点", "薪酬待遇", "报到日期", "户口", "档案",
    "学校名称", "邮政编码", "协议经办人", "经办人电话", "经办人地址", "经办人邮编"})
FIELD_TEXT = {"agreement_number": "协议编号", "qr": "二维码", "graduate_name": "毕业生姓名", "unit_name": "单位名称",
              "credit_code": "统一社会信用代码"}

_NUMBER = re.compile(r"编号[:：]?([0-9A-Za-z]{6,40})")
_VERIFY = re.compile(r"/verify/([A-Za-z0-9_\-]{16,64})")
# Characters OCR confuses in codes: compared in one canonical form
_CONFUSABLE = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "i": "1", "|": "1",
                             "S": "5", "s": "5", "Z": "2", "z": "2", "B": "8", "G": "6", "g": "9"})
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_RUNS = re.compile(r"(.)\1+")
NUMBER_SLACK = 2  # characters an agreement number read may lack or have over and still count as read
_SPACES = re.compile(r"[\s　·.,，。、]")

_pool: ProcessPoolExecutor | None = None
_engine = None  # in the worker process: the RapidOCR engine, loaded once


# --- in the worker process ---------------------------------------------------------------------------------

def read_photo(data: bytes | Path, ocr: bool = True) -> dict:
    """What the photo shows: {"qr": [decoded texts], "lines": [recognised text lines, reading order], "places":
    [[x, y, height] of each line], "ms": {"qr": .., "ocr": ..}}. `data` is a JPEG or PNG (the checked upload),
    or its stored file."""
    import zxingcpp
    from PIL import Image

    img = Image.open(data if isinstance(data, Path) else io.BytesIO(data))
    scale = min(1.0, QR_LONG_SIDE / max(img.size))  # JPEG: decoded at 1/2..1/8 scale, the cheap part
    img.draft("RGB", (round(img.width * scale), round(img.height * scale)))
    img = img.convert("RGB")
    if max(img.size) > QR_LONG_SIDE:
        img.thumbnail((QR_LONG_SIDE, QR_LONG_SIDE), Image.Resampling.BILINEAR)
    started = time.perf_counter()
    qr = [r.text for r in zxingcpp.read_barcodes(img.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)]
    ms = {"qr": round((time.perf_counter() - started) * 1000)}
    lines: list[str] = []
    places: list[list[int]] = []
    if ocr:
        started = time.perf_counter()
        small = img.copy()
        small.thumbnail((OCR_LONG_SIDE, OCR_LONG_SIDE), Image.Resampling.BILINEAR)
        lines, places = _ocr_lines(small, img)
        ms["ocr"] = round((time.perf_counter() - started) * 1000)
    return {"qr": qr, "lines": [redact(line) for line in lines], "places": places, "ms": ms}


def redact(line: str) -> str:
    """ID numbers and mobile numbers read from a photo are stored and shown masked, as everywhere else."""
    line = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), line)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), line)


def load_engine():
    """The OCR engine of this process, one thread (the pool is the parallelism)."""
    global _engine
    if _engine is None:
        _release_large_blocks()
        import cv2
        from rapidocr_onnxruntime import RapidOCR
        cv2.setNumThreads(1)
        # det_limit_type max: the detector takes our bands as they are (no upscaling to 736 px)
        _engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, det_limit_type="max",
                           det_limit_side_len=OCR_LONG_SIDE)
    return _engine


def _ocr_lines(small, large) -> tuple[list[str], list[list[int]]]:
    """Lines found on `small` (the detector's cost grows with the pixels), read from `large` (long numbers
    lose digits when their crop is upscaled from a few pixels high)."""
    import cv2
    import numpy as np

    engine = load_engine()
    boxes = _detect(engine, np.asarray(small)[:, :, ::-1])
    if not boxes:
        return [], []
    boxes = engine.sorted_boxes(np.array(boxes))
    widths = [float(np.linalg.norm(b[0] - b[1])) for b in boxes]
    longest = max(widths)
    scale = large.width / small.width
    keep = [(b * scale).astype(np.float32) for b, w in zip(boxes, widths, strict=True) if w <= SHORT_LINE * longest]
    bgr = np.ascontiguousarray(np.asarray(large)[:, :, ::-1])
    # The text of each box: None until read, "" when the recogniser was not sure (dropped). The early stop asks
    # field_read with the unread boxes in place, so a value is taken only once the box nearest its label is read:
    # otherwise the nearest box read *so far* (性别's 男 beside 姓名) could be taken for it.
    texts: list[str | None] = [None] * len(keep)
    for start in range(0, len(keep), REC_BATCH):  # in reading order, until the page has told what we compare
        batch = keep[start:start + REC_BATCH]
        for i, (text, score) in enumerate(engine.text_rec(engine.get_crop_img_list(bgr, batch))[0], start):
            texts[i] = text.strip() if score >= MIN_SCORE else ""
        seen = [i for i, text in enumerate(texts) if text != ""]
        lines, places = [texts[i] for i in seen], [_place(keep[i]) for i in seen]
        if numbers_read([line for line in lines if line is not None]) \
                and all(field_read(lines, f, places) for f in FIELD_LABELS):
            break
    read = [i for i, text in enumerate(texts) if text]
    lines, places, kept = [texts[i] for i in read], [_place(keep[i]) for i in read], [keep[i] for i in read]
    # Number lines again, stretched: the recogniser merges runs of narrow digits (00000 read as 000) unless each
    # digit spans more of its time steps
    for i in [i for i, line in enumerate(lines) if "编号" in line]:
        crop = engine.get_crop_img_list(bgr, [kept[i]])[0]
        (text, score), = engine.text_rec([cv2.resize(crop, (int(crop.shape[1] * NUMBER_STRETCH), crop.shape[0]))])[0]
        if score >= MIN_SCORE and text.strip():
            lines[i] = text.strip()
    return lines, places


def _detect(engine, bgr) -> list:
    """Text boxes of the page, detected band by band (DET_BAND rows, overlapping by DET_OVERLAP): the detector's
    memory grows with the pixels it is given. A box belongs to the band that holds its centre away from the
    band's edges, so a line cut by one band's edge is found whole in the next."""
    height, found, top = bgr.shape[0], [], 0
    while top < height:
        bottom = min(height, top + DET_BAND + DET_OVERLAP)
        boxes, _ = engine.text_det(bgr[top:bottom].copy())
        own_from = top + (DET_OVERLAP // 2 if top else 0)
        own_to = height if bottom == height else top + DET_BAND + DET_OVERLAP // 2
        for box in [] if boxes is None else boxes:
            box = box + [0, top]
            if own_from <= box[:, 1].mean() < own_to:
                found.append(box.astype("float32"))
        if bottom == height:
            break
        top += DET_BAND
    return found


def _place(box) -> list[int]:
    """[x centre, y centre, height] of a detected box (4 corners from the top left, clockwise)."""
    xs, ys = [float(p[0]) for p in box], [float(p[1]) for p in box]
    return [round(sum(xs) / 4), round(sum(ys) / 4), round(max(ys) - min(ys))]


def _release_large_blocks() -> None:
    """glibc raises its mmap threshold as big blocks are freed, after which the detector's and recogniser's
    tensors (a few MiB each, a new shape per band and line) stay in a fragmented heap: the worker's peak grew
    by ~60-90 MiB. A fixed threshold returns every block over MMAP_THRESHOLD to the system when freed."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: its own allocator


def _warm() -> bool:
    load_engine()
    return True


# --- in the server: the pool and the time budget -----------------------------------------------------------

def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = background_pool(WORKERS)
    return _pool


async def warm_up() -> None:
    """Start the pool and load the engine (a few seconds), so the first photo does not pay for it."""
    await asyncio.wrap_future(_executor().submit(_warm))


async def read_within_budget(data: bytes | Path, ocr: bool = True) -> dict | None:
    """read_photo() in the pool; None when it did not finish within BUDGET_SECONDS or failed."""
    global _pool
    try:
        future = _executor().submit(read_photo, data, ocr)
        return await asyncio.wait_for(asyncio.wrap_future(future), BUDGET_SECONDS)
    except TimeoutError:
        log.warning("photo not read within %.1f s: kept for the auditor to check", BUDGET_SECONDS)
    except BrokenProcessPool:
        log.exception("the recognition pool broke: a new one on the next photo")
        _pool = None
    except Exception:
        log.exception("reading a photo failed: kept for the auditor to check")
    return None


# --- the rules -------------------------------------------------------------------------------------------

def canonical(text: str | None) -> str:
    """For comparing what OCR read with what we hold: no spaces or punctuation, full-width brackets and
    colons as ASCII, confusable letters and digits folded."""
    text = _SPACES.sub("", text or "").replace("（", "(").replace("）", ")").replace("：", ":")
    return text.translate(_CONFUSABLE).upper()


def same_number(read: str, expected: str) -> bool | None:
    """Whether an agreement number read is `expected`; None when it cannot tell: too short or long (digits
    lost in small print), or equal but for the length of a run of one character (00000 read as 0000: what the
    recogniser gets wrong, and also what tells record 10 from record 100 of one school and cohort)."""
    digits = canonical(re.sub(r"^[A-Za-z]+", "", expected))  # after the letters every number of ours starts with
    read, expected = canonical(read), canonical(expected)
    if read == expected or (read.endswith(digits) and len(read) <= len(expected)):  # the prefix misread (W as I)
        return True
    if abs(len(read) - len(expected)) > NUMBER_SLACK or _RUNS.sub(r"\1", read) == _RUNS.sub(r"\1", expected):
        return None
    return False


def numbers_read(lines: list[str]) -> list[str]:
    found = []
    for line in lines:
        found += _NUMBER.findall(_SPACES.sub("", line).replace("：", ":"))
    return list(dict.fromkeys(found))


def tokens_read(qr: list[str]) -> list[str]:
    return list(dict.fromkeys(t for text in qr for t in _VERIFY.findall(text)))


def field_read(lines: list[str], field: str, places: list[list[int]] | None = None) -> str | None:
    """The value printed after a field's label: the rest of the label's line, else the nearest line to its right
    on the same row (`places`: [x, y, height] of each line), else the next line read. A line may be None (found
    on the page, not read yet): when it is the value, the answer is None too."""
    for i, line in enumerate(lines):
        if line is None:
            continue
        flat = _SPACES.sub("", line)
        for label in FIELD_LABELS[field]:
            at = flat.find(label)
            if at < 0:
                continue
            rest = flat[at + len(label):].lstrip(":：")
            if rest:
                return rest
            if places and len(places) == len(lines):
                x, y, h = places[i]
                # on the same row: allow for a photo turned by up to about 6 degrees; the nearest, rows apart weigh more
                right = [(p[0] - x + 3 * abs(p[1] - y), j) for j, p in enumerate(places)
                         if p[0] > x and abs(p[1] - y) <= 0.6 * max(h, 4) + 0.1 * (p[0] - x)]
                return _value(lines[min(right)[1]]) if right else None
            return _value(lines[i + 1]) if i + 1 < len(lines) else None
    return None


def _value(line: str | None) -> str | None:
    """A box read as a field's value, or None when it is another label of the grid (the value's own box was not
    found) or not read yet."""
    return None if line is None or _SPACES.sub("", line).strip(":：") in GRID_LABELS else line


def facts_of(row: dict) -> dict:
    """What a photo is compared with, from a record row (see agreement_facts)."""
    data = row.get("data") or {}
    return {"record_id": row["id"], "kind": row["kind"], "graduate_id": row.get("graduate_id"),
            "agreement_number": row.get("agreement_number"),
            "verify_token": row.get("verify_token"), "graduate_name": row.get("graduate_name"),
            "unit_name": data.get("unit_name"), "credit_code": data.get("credit_code")}


async def agreement_facts(db, record_id: int) -> dict | None:
    import json

    row = await db.fetchone(
        "SELECT r.id, r.kind, r.graduate_id, r.agreement_number, r.data, g.name AS graduate_name, d.verify_token FROM records r"
        " JOIN graduates g ON g.id=r.graduate_id LEFT JOIN agreement_documents d ON d.record_id=r.id WHERE r.id=%s",
        (record_id,))
    if row is None:
        return None
    if isinstance(row["data"], str | bytes):
        row["data"] = json.loads(row["data"])
    return facts_of(row)


def _check(field: str, expected, found, ok: bool) -> dict:
    return {"field": field, "label": FIELD_TEXT[field], "expected": expected, "found": found, "ok": ok}


def match(reading: dict, facts: dict) -> tuple[str, str | None, list[dict]]:
    """(status, refusal code or None, checks) of a photo of the platform's agreement (online/offline record).
    Status is MATCHED; TO_CHECK when only the graduate's name could be read (nothing mismatched); or, with a
    code, the reason to refuse or to ask for a retake."""
    lines, checks, code = reading.get("lines") or [], [], None
    tokens = tokens_read(reading.get("qr") or [])
    if tokens:
        ok = facts["verify_token"] in tokens
        checks.append(_check("qr", "本协议", "本协议" if ok else "另一份协议", ok))
        code = code or (None if ok else "photo_qr_other_agreement")
    numbers = [n for n in numbers_read(lines) if same_number(n, facts["agreement_number"]) is not None]
    if numbers:
        ok = any(same_number(n, facts["agreement_number"]) for n in numbers)
        checks.append(_check("agreement_number", facts["agreement_number"], "、".join(numbers), ok))
        code = code or (None if ok else "photo_number_mismatch")
    name = field_read(lines, "graduate_name", reading.get("places"))
    if name is not None:
        ok = canonical(facts["graduate_name"]) in canonical("".join(lines))
        checks.append(_check("graduate_name", facts["graduate_name"], name, ok))
        code = code or (None if ok else "photo_name_mismatch")
    if code is None and not tokens and any(label in "".join(lines) for label in SIGNATURE_LABELS):
        code = "photo_qr_unreadable"  # the page that is stamped carries the QR: it must be readable
    if code is None and not any(c["ok"] for c in checks if c["field"] in ("qr", "agreement_number")):
        if any(c["ok"] for c in checks if c["field"] == "graduate_name"):
            # this graduate's page whose number did not read (OCR merges long runs of zeros): kept for the
            # auditor to check, never a retake the graduate cannot get past
            return TO_CHECK, None, checks
        code = "photo_unreadable"  # nothing on the page says which agreement it is
    return (MATCHED if code is None else "refused"), code, checks


def compare(reading: dict, facts: dict) -> tuple[str, list[dict]]:
    """(status, checks) of a paper agreement's photo against its registration: MATCHED or DIFFERENCES."""
    lines = reading.get("lines") or []
    text = canonical("".join(lines))
    checks = []
    for field in ("graduate_name", "unit_name", "credit_code"):
        expected = facts.get(field)
        if expected:
            found = field_read(lines, field, reading.get("places"))
            checks.append(_check(field, expected, found, canonical(expected) in text))
    return (MATCHED if checks and all(c["ok"] for c in checks) else DIFFERENCES), checks


def judge(reading: dict | None, facts: dict | None, upload_kind: str) -> dict:
    """What is stored with the upload and shown to the auditor: {status, status_text, record_id, qr, lines,
    checks, code}. A stamped photo that must be refused raises its DomainError (with what was read)."""
    if reading is None:
        return {"status": TO_CHECK, "status_text": STATUS_TEXT[TO_CHECK],
                "record_id": facts and facts["record_id"], "qr": [], "lines": [], "checks": []}
    if facts is None:  # a paper registration's photo, uploaded before the registration: compared when audited
        return {"status": None, "status_text": "", "record_id": None, "qr": reading["qr"],
                "lines": reading["lines"], "places": reading.get("places", []), "checks": []}
    result = {"record_id": facts["record_id"], "qr": reading["qr"], "lines": reading["lines"],
              "places": reading.get("places", [])}
    if upload_kind == "stamped-agreement" and facts["kind"] in STAMPED_KINDS:
        status, code, checks = match(reading, facts)
        if code is not None:
            raise DomainError(code, None, {"checks": checks})
    else:
        status, checks = compare(reading, facts)
    return {**result, "status": status, "status_text": STATUS_TEXT[status], "checks": checks}


def summary(judged: dict, facts: dict, graduate_name: str | None = None) -> str:
    """The sentence the upload page shows."""
    name = graduate_name or facts.get("graduate_name") or ""
    unit = facts.get("unit_name") or ""
    if judged["status"] == MATCHED and facts["kind"] in STAMPED_KINDS:
        return f"照片与{name}与{unit}签订的{facts['agreement_number']}号就业协议一致"
    if judged["status"] == MATCHED:
        return "照片中的姓名、单位名称、统一社会信用代码与登记信息一致"
    if judged["status"] == DIFFERENCES:
        wrong = "、".join(c["label"] for c in judged["checks"] if not c["ok"])
        return f"照片中的{wrong}与登记信息不一致，将由学校审核时核对"
    if judged["status"] is None:
        return "照片中的文字已读取，学校审核时将与登记信息核对"
    return "照片已保存，协议内容将由学校审核时人工核对"


async def load_facts(config, record_id: int) -> dict | None:
    """agreement_facts() for a command: its own short-lived connection."""
    from server.db import Database

    db = Database(config)
    await db.connect(maxsize=1)
    try:
        return await agreement_facts(db, record_id)
    finally:
        await db.close()


def describe(reading: dict, facts: dict, upload_kind: str) -> tuple[str, list[str]]:
    """For check-image --record: ("accepted" or the refusal code with its message, lines saying what was read
    and matched)."""
    from signing.errors import kind_and_message

    try:
        judged = judge(reading, facts, upload_kind)
        verdict, checks = f"accepted: {judged['status_text'] or '已读取'}", judged["checks"]
    except DomainError as exc:
        verdict, checks = f"{exc.code} {kind_and_message(exc.code, exc.message)[1]}", exc.details["checks"]
    lines = [f"QR: {text}" for text in reading["qr"]] or ["QR: (none read)"]
    lines += [f"{c['label']}: {'matched' if c['ok'] else 'DIFFERENT'} (record: {c['expected']}; photo: "
              f"{c['found'] or '-'})" for c in checks]
    lines.append("text: " + " / ".join(reading["lines"]))
    lines.append(f"time: QR {reading['ms']['qr']} ms, OCR {reading['ms'].get('ocr', 0)} ms")
    return verdict, lines


async def annotate_uploads(db, record: dict) -> None:
    """The audit view: each agreement photo of the record gets `reading` {status, status_text, checks, lines,
    qr}: as judged when uploaded, and for a paper registration compared with the registration now."""
    import json

    rows = await db.fetchall("SELECT id, reading_status, reading FROM uploads WHERE record_id=%s AND reading IS NOT NULL",
                             (record["id"],))
    readings = {r["id"]: json.loads(r["reading"]) if isinstance(r["reading"], str | bytes) else r["reading"]
                for r in rows}
    facts = facts_of({**record, "graduate_name": (record.get("graduate") or {}).get("name"), "verify_token": None})
    for upload in record.get("uploads") or []:
        reading = readings.get(upload["id"])
        if reading is None:
            continue
        if record["kind"] not in STAMPED_KINDS and reading["status"] != TO_CHECK:
            status, checks = compare(reading, facts)
            reading = {**reading, "status": status, "status_text": STATUS_TEXT[status], "checks": checks}
        upload["reading"] = {k: reading.get(k) for k in ("status", "status_text", "checks", "lines", "qr")}
