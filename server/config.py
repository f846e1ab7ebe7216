"""Configuration from environment variables (every one listed in the README)."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from urllib.parse import unquote, urlparse

APP_ENVS = ("demo", "test", "production")
DEFAULT_SECRET = "dev-secret-change-me"
DEFAULT_DATA_KEY = "dev-data-key-change-me"
# Hosts that only ever run our emulators; production must point elsewhere.
EMULATOR_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
DEMO_TEMPLATE_PREFIX = "demo_tpl_"  # the WeChat emulator's template ids (emulators/wechat_state.DEMO_TEMPLATES)


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    app_env: str = "demo"
    database_url: str = "mysql://root:@127.0.0.1:3306/wangqian"
    redis_url: str = "redis://127.0.0.1:6379/0"
    port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    cookie_secret: str = DEFAULT_SECRET
    data_key: str = DEFAULT_DATA_KEY
    wechat_app_id: str = "wx_demo_appid"
    wechat_app_secret: str = "demo_app_secret"
    wechat_token: str = "demo_token"
    wechat_aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    wechat_api_base: str = "http://127.0.0.1:8001/"
    aliyun_access_key_id: str = "demo_access_key"
    aliyun_access_key_secret: str = "demo_access_secret"
    aliyun_sms_endpoint: str = "127.0.0.1:8002"
    sms_sign_name: str = "毕业去向登记"
    ems_sync_url: str = "http://127.0.0.1:8003/api/sync"
    credit_service_url: str = "http://127.0.0.1:8004/api/enterprises"
    upload_dir: str = "var/uploads"
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For / X-Real-IP we believe; empty: none
    trusted_proxies: str = ""
    # WeChat template ids of the notifications (notify/templates.py); the defaults are the emulator's demo ids.
    wechat_tpl_invitation: str = "demo_tpl_invitation"
    wechat_tpl_audit_result: str = "demo_tpl_audit_result"
    wechat_tpl_record_edited: str = "demo_tpl_record_edited"
    wechat_tpl_cancel_request: str = "demo_tpl_cancel_request"
    wechat_tpl_cancel_answer: str = "demo_tpl_cancel_request"
    wechat_tpl_forced_cancellation: str = "demo_tpl_forced_cancel"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = int(raw) if f.type in ("int", int) else raw
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.app_env not in APP_ENVS:
            raise ConfigError(f"APP_ENV must be one of {APP_ENVS}, not {self.app_env!r}")
        self.trusted_proxy_networks  # noqa: B018 -- refuses a malformed TRUSTED_PROXIES in every mode
        if self.app_env != "production":
            return
        problems = []
        if self.cookie_secret == DEFAULT_SECRET or len(self.cookie_secret) < 32:
            problems.append("COOKIE_SECRET is the default or shorter than 32 characters")
        if self.data_key == DEFAULT_DATA_KEY or len(self.data_key) < 32:
            problems.append("DATA_KEY is the default or shorter than 32 characters")
        for name in ("wechat_app_id", "wechat_app_secret", "wechat_token", "wechat_aes_key", "aliyun_access_key_id",
                     "aliyun_access_key_secret"):
            if getattr(self, name) == getattr(Settings, name):
                problems.append(f"{name.upper()} is the demo default")
        base = urlparse(self.public_base_url)
        if base.scheme != "https" or (base.hostname or "") in EMULATOR_HOSTS:
            problems.append(f"PUBLIC_BASE_URL must be the public https address ({self.public_base_url})")
        try:
            db = self.database
        except ConfigError as exc:
            problems.append(str(exc))
        else:
            if not db["password"]:
                problems.append(f"DATABASE_URL has no password (user {db['user']})")
        for name in ("wechat_api_base", "aliyun_sms_endpoint", "ems_sync_url", "credit_service_url"):
            value = getattr(self, name)
            host = urlparse(value if "//" in value else "//" + value).hostname or ""
            if host in EMULATOR_HOSTS:
                problems.append(f"{name.upper()} points at a local emulator ({value})")
        for name in (f.name for f in fields(self) if f.name.startswith("wechat_tpl_")):
            if getattr(self, name).startswith(DEMO_TEMPLATE_PREFIX):
                problems.append(f"{name.upper()} is a demo template id")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    @property
    def database(self) -> dict:
        """DATABASE_URL split into connection arguments."""
        u = urlparse(self.database_url)
        if u.scheme not in ("mysql", "mariadb") or not u.path.strip("/"):
            raise ConfigError("DATABASE_URL must look like mysql://user:pass@host:port/db")
        return {
            "host": u.hostname or "127.0.0.1",
            "port": u.port or 3306,
            "user": unquote(u.username or "root"),
            "password": unquote(u.password or ""),
            "db": u.path.strip("/"),
        }

    @property
    def trusted_proxy_networks(self) -> tuple:
        """TRUSTED_PROXIES parsed: comma-separated addresses or networks (10.0.0.5, 10.1.0.0/16)."""
        try:
            return tuple(ipaddress.ip_network(p.strip(), strict=False)
                         for p in self.trusted_proxies.split(",") if p.strip())
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_PROXIES: {exc}") from exc

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"
