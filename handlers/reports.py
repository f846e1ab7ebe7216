"""数据统计 and 下载当前查询数据 / 导出退回修改学生名单: live counts, and the filtered lists as CSV."""
from __future__ import annotations

import csv
import io

from pydantic import Field

from handlers.base import BaseHandler, api, authorize
from handlers.models import Query
from handlers.records import RecordListQuery, id_hash_of
from signing import clock, policy
from signing import transitions as tt
from signing.eligibility import current_cohort
from signing.errors import DomainError
from signing.records_query import list_records
from signing.statistics import statistics

EXPORT_LIMIT = 50_000
RETURNED_STATES = ("agreement_returned", "signing_returned", "registration_returned", "destination_returned",
                   "cancel_returned")
CSV_COLUMNS = [("id", "记录编号"), ("kind_text", "类型"), ("initiator", "发起方"), ("name", "姓名"),
               ("id_masked", "身份证号"), ("department", "院系"), ("major", "专业"), ("level", "学历层次"),
               ("student_number", "学号"), ("unit_name", "单位名称"), ("status_text", "状态"),
               ("agreement_number", "协议编号"), ("updated_at", "更新时间")]


async def school_statistics(db, actor, cohort: int) -> dict:
    """The statistics of what the actor may see (policy.graduate_scope: school level limits included)."""
    return await statistics(db, policy.graduate_scope(actor, "g"), actor.role in ("school", "department"), cohort)


class StatisticsQuery(Query):
    cohort: int = Field(default_factory=lambda: current_cohort(clock.today()), ge=2000, le=2100)


class StatisticsHandler(BaseHandler):
    @authorize("school.records.read")
    @api("Live statistics of a cohort: total, registered, under audit, not registered per department (school)"
         " or per school (province, ministry), and records per state", query=StatisticsQuery, tag="reports")
    async def get(self):
        q = self.query_args(StatisticsQuery)
        self.write_json(await school_statistics(self.db, self.current_user, q.cohort))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_cell(value) -> object:
    """A cell Excel will show as text: one starting like a formula (= + - @, tab, CR) gets a leading apostrophe,
    so a graduate-entered =HYPERLINK(...) is never run by the school's spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class ExportQuery(RecordListQuery):
    returned: bool = Field(default=False, description="only records returned for changes (导出退回修改学生名单)")


class ExportHandler(BaseHandler):
    @authorize("school.records.read")
    @api("The records list as filtered, as CSV for Excel (ID numbers masked); returned=true: the returned ones",
         query=ExportQuery, tag="reports", produces="text/csv")
    async def get(self):
        q = self.query_args(ExportQuery)
        if q.state and q.state not in tt.STATE_TEXT:
            raise DomainError("invalid_input", "未知的状态")
        filters = q.model_dump(exclude={"page", "page_size", "id_number", "returned"})
        if q.returned:
            filters["states"] = RETURNED_STATES
        result = await list_records(self.db, self.current_user, filters, 1, EXPORT_LIMIT, id_hash_of(self, q.id_number))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([label for _, label in CSV_COLUMNS])
        for row in result["items"]:
            row["initiator"] = "单位" if row["initiator"] == "employer" else "学生"
            writer.writerow([excel_cell(row.get(key)) for key, _ in CSV_COLUMNS])
        name = "returned-records.csv" if q.returned else "records.csv"
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.set_header("Cache-Control", "no-store")
        self.finish("\ufeff" + out.getvalue())  # the BOM makes Excel read UTF-8


routes = [
    (r"/api/school/statistics", StatisticsHandler),
    (r"/api/school/records/export", ExportHandler),
]
