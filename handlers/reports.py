"""数据统计 and 下载当前查询数据 / 导出退回修改学生名单: live counts, and the filtered lists as CSV or Excel workbooks, and the roster template."""
from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from string import ascii_uppercase
from typing import Literal
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Query
from handlers.records import RecordListQuery, id_hash_of
from signing import clock, policy
from signing.eligibility import current_cohort
from signing.errors import DomainError
from signing.records_query import export_batches
from signing.roster import COLUMNS as ROSTER_COLUMNS
from signing.statistics import allowed_groups, statistics

RETURNED_STATES = ("agreement_returned", "signing_returned", "registration_returned", "destination_returned",
                   "cancel_returned")
CSV_COLUMNS = [("id", "记录编号"), ("kind_text", "类型"), ("initiator", "发起方"), ("name", "姓名"),
               ("id_masked", "身份证号"), ("department", "院系"), ("major", "专业"), ("level", "学历层次"),
               ("student_number", "学号"), ("unit_name", "单位名称"), ("status_text", "状态"),
               ("agreement_number", "协议编号"), ("created_at", "创建时间"), ("updated_at", "更新时间")]


async def school_statistics(db, actor, cohort: int, group: str | None = None, province: str | None = None) -> dict:
    """The statistics of what the actor may see (policy.graduate_scope: school level limits included), grouped by
    `group` where the actor may (signing.statistics.allowed_groups); the ministry may open one `province`."""
    cond, args = policy.graduate_scope(actor, "g")
    province = province if actor.role == "ministry" else None
    if province:
        cond, args = f"{cond} AND s.province_code=%s", [*args, province]
    allowed = allowed_groups(actor.role, province)
    result = await statistics(db, (cond, args), group if group in allowed else allowed[0], cohort)
    if province:
        row = await db.fetchone("SELECT name FROM provinces WHERE code=%s", (province,))
        if row is None:
            raise DomainError("not_found", "没有该省份")
        result["province"] = {"code": province, "name": row["name"]}
    return result


class StatisticsQuery(Query):
    cohort: int = Field(default_factory=lambda: current_cohort(clock.today()), ge=2000, le=2100)
    group: Literal["department", "major", "level", "school", "province"] | None = Field(
        None, description="rows per 院系, 专业 or 学历层次 (school and department accounts), per 院校 (a province), per"
                          " 省份 or 院校 (the ministry)")
    province: str | None = Field(None, pattern=r"^\d{2}$", description="the ministry: one province's schools")


class StatisticsHandler(BaseHandler):
    @authorize("school.records.read")
    @api("Live statistics of a cohort: total, registered, under audit, not registered per department (school)"
         " or per school (province, ministry), and records per state", query=StatisticsQuery, tag="reports")
    async def get(self):
        q = self.query_args(StatisticsQuery)
        self.write_json(await school_statistics(self.db, self.current_user, q.cohort, q.group, q.province))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_cell(value) -> object:
    """A cell Excel will show as text: one starting like a formula (= + - @, tab, CR) gets a leading apostrophe,
    so a graduate-entered =HYPERLINK(...) is never run by the school's spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_values(row: dict) -> list:
    """One record as the export shows it: codes as their Chinese names, the ID number masked."""
    row["initiator"] = "单位" if row["initiator"] == "employer" else "学生"
    return [row.get(key) for key, _ in CSV_COLUMNS]


class ExportQuery(RecordListQuery):
    returned: bool = Field(default=False, description="only records returned for changes (导出退回修改学生名单)")


class ExportHandler(BaseHandler):
    """下载当前查询数据: the whole filtered list in its order, written out as keyset batches arrive (100,000
    records never sit in memory)."""
    media_type, suffix = "text/csv; charset=UTF-8", "csv"

    @authorize("school.records.read")
    @api("The records list as filtered, as CSV for Excel (ID numbers masked); returned=true: the returned ones",
         query=ExportQuery, tag="reports", produces="text/csv")
    async def get(self):
        await self.export()

    async def export(self):
        q = self.query_args(ExportQuery)
        filters = q.filters()
        if q.returned:
            filters["states"] = RETURNED_STATES
        batches = export_batches(self.db, self.current_user, filters, id_hash_of(self, q.id_number), q.sort,
                                 q.order == "desc")
        name, chinese = ("returned-records", "退回修改学生名单") if q.returned else ("records", "毕业去向与网签信息")
        self.set_header("Content-Type", self.media_type)
        self.set_header("Content-Disposition", attachment(f"{name}.{self.suffix}", f"{chinese}.{self.suffix}"))
        self.set_header("Cache-Control", "no-store")
        await self.write_batches(batches)

    async def write_batches(self, batches) -> None:
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")  # the BOM makes Excel read UTF-8
        writer.writerow([label for _, label in CSV_COLUMNS])
        async for rows in batches:
            writer.writerows([excel_cell(v) for v in export_values(row)] for row in rows)
            self.write(out.getvalue())
            out.seek(0)
            out.truncate()
            await self.flush()
        self.write(out.getvalue())
        self.finish()


COLUMN_WIDTHS = {"kind_text": 26, "id_masked": 20, "department": 16, "major": 18, "student_number": 14,
                 "unit_name": 30, "status_text": 30, "agreement_number": 22, "created_at": 20, "updated_at": 20}


def attachment(ascii_name: str, name: str) -> str:
    """A download's file name: the Chinese one for browsers that read RFC 5987, an ASCII one for the rest."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def xlsx_cells(sheet, values: list) -> list:
    """A row of a write-only sheet. openpyxl takes a text starting with = for a formula: such a text becomes a
    cell typed as text (the other values stay plain: a cell object each would cost a third more time)."""
    cells = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # after the value, whose setter decides "formula"
            value = cell
        cells.append(value)
    return cells


class XlsxExportHandler(ExportHandler):
    """The same list as an Excel workbook (openpyxl write-only: rows go to a temporary file as they come, the
    finished file is sent in chunks)."""
    media_type, suffix = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"

    @authorize("school.records.read")
    @api("The records list as filtered, as an Excel workbook (Chinese headers and names, ID numbers masked)",
         query=ExportQuery, tag="reports", produces=media_type)
    async def get(self):
        await self.export()

    async def write_batches(self, batches) -> None:
        loop = asyncio.get_running_loop()
        book = Workbook(write_only=True)
        sheet = book.create_sheet("毕业去向与网签信息")
        for letter, (key, _) in zip(ascii_uppercase, CSV_COLUMNS, strict=False):
            sheet.column_dimensions[letter].width = COLUMN_WIDTHS.get(key, 12)
        sheet.freeze_panes = "A2"
        sheet.append([label for _, label in CSV_COLUMNS])
        started = False
        try:
            async for rows in batches:  # openpyxl's work runs off the event loop, one batch at a time
                if not started:  # the headers once the first rows are read: the browser shows the download
                    await self.flush()  # starting and a proxy sees an answer, while a database failing before
                    started = True  # them still gets an error answer, not a cut file
                await loop.run_in_executor(None, lambda rows=rows: [sheet.append(xlsx_cells(sheet, export_values(r)))
                                                                    for r in rows])
        except BaseException:
            sheet.close()  # its temporary file finished and closed now, not by the garbage collector later
            raise
        with tempfile.TemporaryFile() as out:
            await loop.run_in_executor(None, book.save, out)
            out.seek(0)
            while chunk := out.read(256 * 1024):
                self.write(chunk)
                await self.flush()
        self.finish()


class RosterTemplateHandler(BaseHandler):
    @authorize("roster.read")
    @api("The roster import template: an empty workbook with the import's column headers",
         tag="reports", produces=XlsxExportHandler.media_type)
    async def get(self):
        book = Workbook(write_only=True)
        sheet = book.create_sheet("学生名单")
        sheet.append(list(ROSTER_COLUMNS))
        out = io.BytesIO()
        book.save(out)
        self.set_header("Content-Type", XlsxExportHandler.media_type)
        self.set_header("Content-Disposition", attachment("roster-template.xlsx", "学生名单导入模板.xlsx"))
        self.finish(out.getvalue())


routes = [
    (r"/api/school/statistics", StatisticsHandler),
    (r"/api/school/records/export", ExportHandler),
    (r"/api/school/records/export\.xlsx", XlsxExportHandler),
    (r"/api/school/roster-template\.xlsx", RosterTemplateHandler),
]
