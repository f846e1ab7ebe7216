"""Who is acting: a user as the domain sees them (no HTTP)."""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("ministry", "province", "school", "department", "employer", "graduate", "admin")
MODULES = ("employment", "archive", "hukou")
ROLE_NAMES = {"ministry": "部级用户", "province": "省级用户", "school": "学校用户",
              "department": "院系用户", "employer": "用人单位", "graduate": "毕业生", "admin": "平台管理员",
              "system": "系统", "employer_link": "用人单位（短信链接）"}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str
    name: str
    province_code: str | None = None
    school_id: int | None = None
    department: str | None = None
    employer_id: int | None = None
    graduate_id: int | None = None
    permissions: dict = field(default_factory=dict)  # module -> read_write | read_only | none
    level_scope: str = "all"  # school accounts: all | undergraduate | postgraduate (本专科 / 研究生)
    ip: str | None = None

    def permission(self, module: str = "employment") -> str:
        if self.role in ("school", "department"):
            return self.permissions.get(module, "none")
        return "read_only" if self.role in ("ministry", "province") else "none"


SYSTEM = Actor(user_id=None, role="system", name="系统")
