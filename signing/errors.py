"""Domain errors: an exception with a machine-readable code, and the one catalog of codes with the kind of
failure each is and the Chinese message a user reads. Feature packages add their codes with `define` when
imported; handlers/errors.py turns each kind into an HTTP status."""
from __future__ import annotations

import enum


class Kind(enum.Enum):
    """What went wrong, in the caller's terms; the HTTP layer maps each kind to a status."""
    INVALID = "invalid"                    # the input is wrong or incomplete
    UNAUTHENTICATED = "unauthenticated"    # who is asking is not known (not logged in, wrong password)
    FORBIDDEN = "forbidden"                # the caller may not do this
    NOT_FOUND = "not_found"                # nothing the caller may see has this name
    METHOD = "method"                      # the operation does not exist here
    CONFLICT = "conflict"                  # the state of the data does not allow it now
    GONE = "gone"                          # it existed but is used up or expired
    TOO_LARGE = "too_large"                # the content is too big
    UNSUPPORTED_TYPE = "unsupported_type"  # not a kind of file we take
    UNPROCESSABLE = "unprocessable"        # the right kind of file, but its content cannot be accepted
    TOO_MANY = "too_many"                  # too many attempts: wait
    UNAVAILABLE = "unavailable"            # a service we need does not answer
    INTERNAL = "internal"                  # our fault


class DomainError(Exception):
    def __init__(self, code: str, message: str | None = None, details: list | dict | None = None):
        super().__init__(code)
        self.code = code
        self.message = message  # a specific Chinese message; the code's default otherwise
        self.details = details

    def __reduce__(self):  # whole across a process pool (photo checks run in one: documents/uploads.py)
        return (type(self), (self.code, self.message, self.details))


CATALOG: dict[str, tuple[Kind, str]] = {}


def define(errors: dict[str, tuple[Kind, str]]) -> None:
    """Adds codes to the catalog; each code is defined once."""
    for code in errors:
        if code in CATALOG:
            raise ValueError(f"error code {code} defined twice")
    CATALOG.update(errors)


def kind_and_message(code: str, message: str | None = None) -> tuple[Kind, str]:
    """The kind of a code and the message to show (a specific one when given, else the code's own)."""
    kind, default = CATALOG.get(code, CATALOG["http_error"])
    return kind, message or default


define({
    # generic
    "http_error": (Kind.INVALID, "请求有误"),  # also the fallback for a code missing here
    "invalid_input": (Kind.INVALID, "提交的信息不完整或格式不正确"),
    "not_found": (Kind.NOT_FOUND, "您访问的内容不存在"),
    # accounts
    "not_logged_in": (Kind.UNAUTHENTICATED, "请先登录"),
    "login_failed": (Kind.UNAUTHENTICATED, "账号或密码错误"),
    "account_locked": (Kind.TOO_MANY, "登录失败次数过多，账号已临时锁定，请15分钟后再试"),
    "account_disabled": (Kind.FORBIDDEN, "账号已停用，请联系管理员"),
    "forbidden": (Kind.FORBIDDEN, "您没有权限进行此操作"),
    "read_only": (Kind.FORBIDDEN, "您的账号为只读权限，不能进行此操作"),
    "module_disabled": (Kind.FORBIDDEN, "该功能模块尚未开启"),
    "weak_password": (Kind.INVALID, "密码至少8位，且需同时包含字母和数字"),
    "username_taken": (Kind.CONFLICT, "该账号已存在"),
    # roster
    "roster_file_invalid": (Kind.UNPROCESSABLE, "名单文件有误，未导入任何数据，请修改后重新上传"),
    "roster_file_type": (Kind.UNSUPPORTED_TYPE, "名单文件须为CSV或XLSX格式"),
    "roster_school_mismatch": (Kind.UNPROCESSABLE, "名单中的院校与您的账号不符"),
    "invalid_id_number": (Kind.INVALID, "身份证号不正确"),
    "graduate_invalid": (Kind.CONFLICT, "您的学籍信息已失效，如有疑问请联系学校就业部门"),
    "cohort_closed": (Kind.CONFLICT, "往届毕业生只能查看记录，不能操作"),
    "already_confirmed": (Kind.CONFLICT, "您已确认过生源信息"),
    # settings
    "cohort_unknown": (Kind.INVALID, "该届别没有毕业生名单，不能设置；请先导入该届名单"),
    "province_agreement_type_required": (Kind.INVALID, "开启毕业去向登记与网签前须选择就业协议书类型"),
    "province_module_irreversible": (Kind.CONFLICT, "功能模块一旦开启，不可再关闭"),
    "agreement_type_locked": (Kind.CONFLICT, "就业协议书类型已确定，不可修改"),
    "province_module_off": (Kind.CONFLICT, "本省尚未开启毕业去向登记与网签模块"),
    "online_signing_irreversible": (Kind.CONFLICT, "已有毕业生或用人单位操作，在线签约不可再关闭"),
    "audit_mode_records_in_flow": (Kind.CONFLICT, "有处于流程中的数据，暂不能修改审核方式"),
    "audit_mode_department_accounts": (Kind.CONFLICT, "先院系再校级审核需要每个院系都有读写权限的院系账号"),
    "max_cancellations_range": (Kind.INVALID, "解约申请次数须为0到99的整数"),
    "handler_immutable": (Kind.CONFLICT, "协议经办人信息一经提交不可修改"),
    "handler_level_conflict": (Kind.CONFLICT, "协议经办人的设置方式与已提交的信息冲突"),
    "handler_level_forbidden": (Kind.FORBIDDEN, "您只能设置本人负责学历层次的协议经办人"),
    "settings_required": (Kind.CONFLICT, "学校尚未完成签约设置"),
    # records and workflows
    "unknown_action": (Kind.NOT_FOUND, "没有这个操作"),
    "action_not_allowed": (Kind.CONFLICT, "当前状态不能进行此操作"),
    "stale_version": (Kind.CONFLICT, "该记录已被更新，请刷新后重试"),
    "active_record_exists": (Kind.CONFLICT, "您已有一条正在办理或已生效的签约/去向记录，不能再签约或登记"),
    "invitation_pending": (Kind.CONFLICT, "您已向该毕业生发出签约邀请，请等待其回应"),
    "invitation_expired": (Kind.CONFLICT, "签约邀请已过应约截止时间"),
    "invalid_deadline": (Kind.INVALID, "应约截止时间不正确"),
    "already_audited": (Kind.CONFLICT, "学院或学校已开始审核，不能撤回修改"),
    "not_your_audit_stage": (Kind.CONFLICT, "该记录不在您的审核环节"),
    "cancellation_limit": (Kind.CONFLICT, "解约申请次数已达学校设置的上限"),
    "training_mode_cannot_sign": (Kind.CONFLICT, "定向（不可网签）、委培（不可网签）毕业生只能填报定向/委培毕业去向补充登记"),
    "destination_type_not_allowed": (Kind.CONFLICT, "您不能选择该去向类型"),
    "unknown_destination_type": (Kind.INVALID, "请选择有效的去向类型"),
    "employer_not_certified": (Kind.FORBIDDEN, "单位尚未通过实名认证，暂不能发起签约邀请"),
    "employer_registered": (Kind.CONFLICT, "该统一社会信用代码的单位已注册"),
    "warning_exists": (Kind.CONFLICT, "本校已将该单位标记为预警单位"),
    "graduate_not_found": (Kind.NOT_FOUND, "未找到该毕业生，请核对姓名和身份证号"),
    "invalid_credit_code": (Kind.INVALID, "统一社会信用代码不正确"),
    "invalid_record_data": (Kind.INVALID, "填写的信息格式不正确"),
    "record_incomplete": (Kind.INVALID, "信息填写不完整"),
    "field_not_editable": (Kind.CONFLICT, "此项信息不能修改"),
    "reason_required": (Kind.INVALID, "请选择原因"),
    "explanation_required": (Kind.INVALID, "请填写具体说明"),
    "upload_required": (Kind.INVALID, "请上传所需的材料"),
    "upload_not_found": (Kind.NOT_FOUND, "上传的材料不存在或不属于您"),
    "conflict": (Kind.CONFLICT, "数据已被他人修改，请刷新后重试"),
    "rate_limited": (Kind.TOO_MANY, "操作过于频繁，请稍后再试"),
    "service_unavailable": (Kind.UNAVAILABLE, "服务暂时不可用，请稍后再试"),
    "internal_error": (Kind.INTERNAL, "系统繁忙，请稍后再试"),
})
