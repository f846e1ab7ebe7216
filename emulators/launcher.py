"""Demo mode: the local emulators of WeChat, Aliyun SMS and EMS, each on the port its configured URL names."""
from __future__ import annotations

import logging
from urllib.parse import urlparse

import tornado.httpserver

log = logging.getLogger("wangqian")


def _port_of(url: str) -> int:
    return urlparse(url if "//" in url else "//" + url).port


def emulator_apps(config) -> list[tuple[str, object, int]]:
    """(name, tornado application, port) for every emulator."""
    from emulators.aliyun_sms import make_emulator_app as sms_app
    from emulators.credit import make_emulator_app as credit_app
    from emulators.ems import make_emulator_app as ems_app
    from emulators.wechat import make_emulator_app as wechat_app
    return [
        ("WeChat", wechat_app({config.wechat_app_id: config.wechat_app_secret}), _port_of(config.wechat_api_base)),
        ("Aliyun SMS", sms_app({config.aliyun_access_key_id: config.aliyun_access_key_secret},
                               site=config.public_base_url), _port_of(config.aliyun_sms_endpoint)),
        ("EMS", ems_app(), _port_of(config.ems_sync_url)),
        ("enterprise credit service", credit_app(), _port_of(config.credit_service_url)),
    ]


async def start_emulators(config) -> list:
    servers = []
    for name, app, port in emulator_apps(config):
        server = tornado.httpserver.HTTPServer(app)
        server.listen(port, address=config.bind_host)  # HOST=0.0.0.0: a phone on the LAN reaches them too
        servers.append(server)
        log.info("%s emulator on http://%s:%s/", name, config.bind_host, port)
    return servers
