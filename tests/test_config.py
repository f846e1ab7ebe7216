from __future__ import annotations

import pytest

from server.config import ConfigError, Settings

GOOD = {
    "APP_ENV": "production", "COOKIE_SECRET": "c" * 40, "DATA_KEY": "d" * 40,
    "WECHAT_APP_SECRET": "real-secret", "ALIYUN_ACCESS_KEY_SECRET": "real-secret",
    "WECHAT_APP_ID": "wx1234567890abcdef", "WECHAT_TOKEN": "real-token", "WECHAT_AES_KEY": "Z" * 43,
    "ALIYUN_ACCESS_KEY_ID": "LTAIrealkeyid", "PUBLIC_BASE_URL": "https://wangqian.example.edu.cn",
    "DATABASE_URL": "mysql://wangqian:s3cret@db.internal:3306/wangqian",
    "WECHAT_API_BASE": "https://api.weixin.qq.com/", "ALIYUN_SMS_ENDPOINT": "dysmsapi.aliyuncs.com",
    "EMS_SYNC_URL": "https://ems.example.gov.cn/api/sync",
    "CREDIT_SERVICE_URL": "https://credit.example.gov.cn/api/enterprises",
    **{f"WECHAT_TPL_{name}": f"real-template-{name.lower()}" for name in (
        "INVITATION", "AUDIT_RESULT", "RECORD_EDITED", "CANCEL_REQUEST", "CANCEL_ANSWER", "FORCED_CANCELLATION")},
}


def test_production_starts_with_real_secrets_and_endpoints():
    assert Settings.from_env(GOOD).is_production


@pytest.mark.parametrize("name,value", [
    ("COOKIE_SECRET", ""), ("COOKIE_SECRET", "short"), ("DATA_KEY", ""),
    ("WECHAT_API_BASE", "http://127.0.0.1:8001/"), ("ALIYUN_SMS_ENDPOINT", "127.0.0.1:8002"),
    ("EMS_SYNC_URL", "http://localhost:8003/api/sync"), ("WECHAT_APP_SECRET", ""),
    ("WECHAT_TPL_INVITATION", ""), ("CREDIT_SERVICE_URL", "http://127.0.0.1:8004/api/enterprises"),
    # issue 9, finding 14: every demo value and a passwordless database user, and a non-https public address
    ("WECHAT_TOKEN", ""), ("WECHAT_AES_KEY", ""), ("WECHAT_APP_ID", ""), ("ALIYUN_ACCESS_KEY_ID", ""),
    ("PUBLIC_BASE_URL", ""), ("PUBLIC_BASE_URL", "http://wangqian.example.edu.cn"),
    ("PUBLIC_BASE_URL", "https://127.0.0.1:8000"), ("DATABASE_URL", ""),
    ("DATABASE_URL", "mysql://root:@db.internal:3306/wangqian"),
])
def test_production_refuses_defaults_and_emulators(name, value):
    env = dict(GOOD)
    env.pop(name) if value == "" else env.__setitem__(name, value)
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError):
        Settings.from_env({"APP_ENV": "staging"})


def test_database_url_is_parsed():
    s = Settings.from_env({"DATABASE_URL": "mysql://u%40x:p%3Aw@db.local:3307/wq"})
    assert s.database == {"host": "db.local", "port": 3307, "user": "u@x", "password": "p:w", "db": "wq"}


def test_host_defaults_to_loopback_except_in_production_and_can_be_set_for_a_lan():
    assert Settings.from_env({}).bind_host == "127.0.0.1"
    assert Settings.from_env(GOOD).bind_host == "0.0.0.0"
    assert Settings.from_env({"HOST": "0.0.0.0"}).bind_host == "0.0.0.0"


def test_logs_are_json_outside_demo_mode_unless_asked():
    assert not Settings.from_env({}).logs_as_json
    assert Settings.from_env({"APP_ENV": "test"}).logs_as_json
    assert not Settings.from_env({"APP_ENV": "test", "LOG_FORMAT": "text"}).logs_as_json


@pytest.mark.parametrize("name,value", [("PORT", "abc"), ("PORT", "0"), ("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml"),
                                        ("DATABASE_URL", "mysql://h:x/db"), ("DATABASE_URL", "mysql:/db"), ("REDIS_URL", "redis://h/abc"),
                                        ("PUBLIC_BASE_URL", "example.com"), ("HEALTH_MAX_OUTBOX_LAG", "-1"),
                                        ("PROMETHEUS_MULTIPROC_DIR", "/nonexistent/metrics"), ("DB_DRIVER", "sqlite")])
def test_each_bad_value_is_one_error_naming_its_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_db_driver_is_aiomysql_unless_asyncmy_is_chosen_and_installed(monkeypatch):
    assert Settings.from_env({}).db_driver == "aiomysql"
    assert Settings.from_env({"DB_DRIVER": "asyncmy"}).db_driver == "asyncmy"
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)  # as on an install without the extra
    with pytest.raises(ConfigError, match="DB_DRIVER=asyncmy needs the asyncmy package"):
        Settings.from_env({"DB_DRIVER": "asyncmy"})


def test_wechat_menu_is_not_published_with_demo_values():
    """Finding 14: with APP_ENV=production and the defaults, wechat-menu would publish a menu to 127.0.0.1."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "PUBLIC_", "ALIYUN_"))}
    env.update(GOOD, PUBLIC_BASE_URL="", WECHAT_TOKEN="")
    env = {k: v for k, v in env.items() if v != ""}
    done = subprocess.run([sys.executable, "-m", "server", "wechat-menu"], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "PUBLIC_BASE_URL" in done.stderr and "WECHAT_TOKEN" in done.stderr
    assert "menu published" not in done.stdout
