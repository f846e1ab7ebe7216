"""Demo mode: start the local emulators of WeChat, Aliyun SMS and EMS beside the service."""
from __future__ import annotations


async def start_emulators(config) -> list:
    return []
