"""Configuration from environment variables (every one listed in the README)."""
from __future__ import annotations

import importlib.util
import ipaddress
import os
from dataclasses import dataclass, fields
from urllib.parse import unquote, urlparse

APP_ENVS = ("demo", "test", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")
DB_DRIVERS = ("aiomysql", "asyncmy")  # server/db.py: aiomysql unless DB_DRIVER names asyncmy (an optional extra)
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
    db_driver: str = "aiomysql"
    redis_url: str = "redis://127.0.0.1:6379/0"
    port: int = 8000
    host: str = ""  # bind address; empty: 127.0.0.1, or 0.0.0.0 in production
    log_level: str = "INFO"
    log_format: str = ""  # json or text; empty: text in demo, json otherwise
    public_base_url: str = "http://127.0.0.1:8000"
    cookie_secret: str = DEFAULT_SECRET
    data_key: str = DEFAULT_DATA_KEY
    data_key_previous: str = ""  # the key being retired, during `rotate-data-key` only (server/rotation.py)
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
    upload_spool_dir: str = ""  # where upload bodies are written as they arrive (a folder per request); empty: the system's temporary folder
    # /healthz (handlers/health.py): a worker must have beaten this recently, and due outbox entries may wait this long
    health_worker_timeout: int = 30
    health_max_outbox_lag: int = 120
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
        """Settings from the environment, typed and checked here: a mistake is one ConfigError naming the variable."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _typed(f.name.upper(), raw, f.type)
        values.update(overrides)
        settings = cls(**values)
        metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR")  # read by prometheus_client itself (server/metrics.py)
        if metrics_dir and not (os.path.isdir(metrics_dir) and os.access(metrics_dir, os.W_OK)):
            raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR {metrics_dir} is not a writable directory")
        settings.check_values()
        settings.validate()
        return settings

    def check_values(self) -> None:
        """Each variable on its own (the production guard in validate() looks at them together)."""
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"PORT must be between 1 and 65535, not {self.port}")
        if self.log_level.upper() not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.log_format and self.log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be json or text, not {self.log_format!r}")
        self.database  # noqa: B018  (raises ConfigError naming DATABASE_URL)
        self.check_db_driver()
        self.redis_db  # noqa: B018
        if urlparse(self.public_base_url).scheme not in ("http", "https"):
            raise ConfigError(f"PUBLIC_BASE_URL must start with http:// or https://, not {self.public_base_url!r}")
        for name in ("health_worker_timeout", "health_max_outbox_lag"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name.upper()} must be a positive number of seconds")

    def check_db_driver(self) -> None:
        if self.db_driver not in DB_DRIVERS:
            raise ConfigError(f"DB_DRIVER must be one of {', '.join(DB_DRIVERS)}, not {self.db_driver!r}")
        if self.db_driver == "asyncmy" and importlib.util.find_spec("asyncmy") is None:
            raise ConfigError("DB_DRIVER=asyncmy needs the asyncmy package (pip install 'wangqian[asyncmy]')")

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
        try:
            port = u.port or 3306
        except ValueError:
            port = None
        if u.scheme not in ("mysql", "mariadb") or not u.hostname or not u.path.strip("/") or port is None:
            raise ConfigError("DATABASE_URL must look like mysql://user:pass@host:port/db,"
                              f" not {_without_password(self.database_url)!r}")
        return {
            "host": u.hostname or "127.0.0.1",
            "port": port,
            "user": unquote(u.username or "root"),
            "password": unquote(u.password or ""),
            "db": u.path.strip("/"),
        }

    @property
    def redis_db(self) -> int:
        """The database number of REDIS_URL (tests and benches use only that one)."""
        u = urlparse(self.redis_url)
        try:
            u.port  # noqa: B018
            number = int(u.path.strip("/") or 0)
        except ValueError:
            number = -1
        if u.scheme not in ("redis", "rediss") or number < 0:
            raise ConfigError("REDIS_URL must look like redis://host:port/0,"
                              f" not {_without_password(self.redis_url)!r}")
        return number

    @property
    def bind_host(self) -> str:
        return self.host or ("0.0.0.0" if self.is_production else "127.0.0.1")

    @property
    def logs_as_json(self) -> bool:
        return (self.log_format or ("text" if self.app_env == "demo" else "json")) == "json"

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


def _typed(variable: str, raw: str, kind) -> object:
    if kind in ("int", int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{variable} must be a whole number, not {raw!r}") from None
    return raw


def _without_password(url: str) -> str:
    u = urlparse(url)
    if u.password:
        return url.replace(":" + u.password + "@", ":***@", 1)
    return url
