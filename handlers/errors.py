"""The one mapping from error codes to HTTP status and the Chinese message a user reads."""
from __future__ import annotations

ERRORS: dict[str, tuple[int, str]] = {
    # request shape
    "bad_json": (400, "请求内容不是有效的JSON"),
    "invalid_input": (400, "提交的信息不完整或格式不正确"),
    "body_too_large": (413, "提交的内容过大"),
    "xsrf_failed": (403, "页面已过期，请刷新后重试"),
    "not_found": (404, "您访问的内容不存在"),
    "method_not_allowed": (405, "不支持此操作"),
    "http_error": (400, "请求有误"),
    # accounts
    "not_logged_in": (401, "请先登录"),
    "login_failed": (401, "账号或密码错误"),
    "account_locked": (429, "登录失败次数过多，账号已临时锁定，请15分钟后再试"),
    "account_disabled": (403, "账号已停用，请联系管理员"),
    "forbidden": (403, "您没有权限进行此操作"),
    "read_only": (403, "您的账号为只读权限，不能进行此操作"),
    "module_disabled": (403, "该功能模块尚未开启"),
    "weak_password": (400, "密码至少8位，且需同时包含字母和数字"),
    "username_taken": (409, "该账号已存在"),
    # roster
    "roster_file_invalid": (422, "名单文件有误，未导入任何数据，请修改后重新上传"),
    "roster_file_type": (415, "名单文件须为CSV或XLSX格式"),
    "roster_school_mismatch": (422, "名单中的院校与您的账号不符"),
    "invalid_id_number": (400, "身份证号不正确"),
    "graduate_invalid": (409, "您的学籍信息已失效，如有疑问请联系学校就业部门"),
    "cohort_closed": (409, "往届毕业生只能查看记录，不能操作"),
    "already_confirmed": (409, "您已确认过生源信息"),
    # settings
    "province_agreement_type_required": (400, "开启毕业去向登记与网签前须选择就业协议书类型"),
    "province_module_irreversible": (409, "功能模块一旦开启，不可再关闭"),
    "agreement_type_locked": (409, "就业协议书类型已确定，不可修改"),
    "province_module_off": (409, "本省尚未开启毕业去向登记与网签模块"),
    "online_signing_irreversible": (409, "已有毕业生或用人单位操作，在线签约不可再关闭"),
    "audit_mode_records_in_flow": (409, "有处于流程中的数据，暂不能修改审核方式"),
    "audit_mode_department_accounts": (409, "先院系再校级审核需要每个院系都有读写权限的院系账号"),
    "max_cancellations_range": (400, "解约申请次数须为0到99的整数"),
    "handler_immutable": (409, "协议经办人信息一经提交不可修改"),
    "handler_level_conflict": (409, "协议经办人的设置方式与已提交的信息冲突"),
    "handler_level_forbidden": (403, "您只能设置本人负责学历层次的协议经办人"),
    "settings_required": (409, "学校尚未完成签约设置"),
    # records and workflows
    "unknown_action": (404, "没有这个操作"),
    "action_not_allowed": (409, "当前状态不能进行此操作"),
    "stale_version": (409, "该记录已被更新，请刷新后重试"),
    "active_record_exists": (409, "您已有一条正在办理或已生效的签约/去向记录，不能再签约或登记"),
    "invitation_pending": (409, "您已向该毕业生发出签约邀请，请等待其回应"),
    "invitation_expired": (409, "签约邀请已过应约截止时间"),
    "invalid_deadline": (400, "应约截止时间不正确"),
    "already_audited": (409, "学院或学校已开始审核，不能撤回修改"),
    "not_your_audit_stage": (409, "该记录不在您的审核环节"),
    "cancellation_limit": (409, "解约申请次数已达学校设置的上限"),
    "training_mode_cannot_sign": (409, "定向（不可网签）、委培（不可网签）毕业生只能填报定向/委培毕业去向补充登记"),
    "destination_type_not_allowed": (409, "您不能选择该去向类型"),
    "unknown_destination_type": (400, "请选择有效的去向类型"),
    "employer_not_certified": (403, "单位尚未通过实名认证，暂不能发起签约邀请"),
    "employer_registered": (409, "该统一社会信用代码的单位已注册"),
    "warning_exists": (409, "本校已将该单位标记为预警单位"),
    "graduate_not_found": (404, "未找到该毕业生，请核对姓名和身份证号"),
    "invalid_credit_code": (400, "统一社会信用代码不正确"),
    "invalid_record_data": (400, "填写的信息格式不正确"),
    "record_incomplete": (400, "信息填写不完整"),
    "field_not_editable": (409, "此项信息不能修改"),
    "reason_required": (400, "请选择原因"),
    "explanation_required": (400, "请填写具体说明"),
    "upload_required": (400, "请上传所需的材料"),
    "upload_not_found": (404, "上传的材料不存在或不属于您"),
    # generic
    "conflict": (409, "数据已被他人修改，请刷新后重试"),
    "rate_limited": (429, "操作过于频繁，请稍后再试"),
    "service_unavailable": (503, "服务暂时不可用，请稍后再试"),
    "internal_error": (500, "系统繁忙，请稍后再试"),
}


def register(errors: dict[str, tuple[int, str]]) -> None:
    """Feature modules add their own codes here at import time (each code defined once)."""
    for code in errors:
        if code in ERRORS:
            raise ValueError(f"error code {code} defined twice")
    ERRORS.update(errors)


def status_and_message(code: str, message: str | None = None) -> tuple[int, str]:
    status, default = ERRORS.get(code, (400, ERRORS["http_error"][1]))
    return status, message or default
