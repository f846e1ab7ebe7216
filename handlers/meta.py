from __future__ import annotations

from handlers.base import BaseHandler, api, authorize
from handlers.openapi import build_document


class OpenApiHandler(BaseHandler):
    @authorize(None)
    @api("This OpenAPI 3.1 document", tag="operations")
    async def get(self):
        self.write_json(build_document(self.application.routes))


routes = [(r"/api/openapi.json", OpenApiHandler)]
