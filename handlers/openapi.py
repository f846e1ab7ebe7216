"""OpenAPI 3.1 document built from the routes and the @api metadata on handler methods."""
from __future__ import annotations

import re

from pydantic import BaseModel

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "description": "machine-readable error code"},
                       "message": {"type": "string", "description": "中文提示"},
                       "details": {"description": "per-field or per-row problems"}}}},
}


def openapi_path(pattern: str) -> tuple[str, list[str]]:
    """Turn a Tornado route regex like /api/records/(\\d+) into /api/records/{p1}."""
    names = []

    def repl(_m):
        names.append(f"p{len(names) + 1}")
        return "{" + names[-1] + "}"
    path = re.sub(r"\((?:[^()]|\([^()]*\))*\)", repl, pattern.rstrip("$"))
    return path.replace("\\", ""), names


def documented_routes(routes) -> list[tuple[str, type]]:
    """JSON endpoints: everything under /api and /healthz."""
    return [(p, h) for p, h, *_ in routes if p.startswith(("/api/", "/healthz"))]


def build_document(routes, version: str = "0.1.0") -> dict:
    paths, schemas = {}, {"Error": ERROR_SCHEMA}
    for pattern, handler in documented_routes(routes):
        path, params = openapi_path(pattern)
        item = {}
        for method in HTTP_METHODS:
            fn = getattr(handler, method, None)
            meta = getattr(fn, "openapi", None) if fn else None
            if meta is None:
                continue
            op = {"summary": meta["summary"], "tags": [meta["tag"]],
                  "operationId": f"{method}_{handler.__name__}",
                  "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                 for p in params],
                  "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                                "4XX": {"description": "refused; see error.code",
                                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
            for status, text in meta["responses"].items():
                op["responses"][status] = {"description": text, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
            permission = getattr(fn, "permission", None)
            op["x-permission"] = permission or "public"
            if meta["query"] is not None:
                op["parameters"] += _query_parameters(meta["query"])
            if meta["body"] is not None:
                schemas[meta["body"].__name__] = _schema(meta["body"], schemas)
                op["requestBody"] = {"required": True, "content": {
                    meta["content_type"]: {"schema": {"$ref": f"#/components/schemas/{meta['body'].__name__}"}}}}
            elif meta["content_type"] != "application/json":
                op["requestBody"] = {"required": True, "content": {meta["content_type"]: {"schema": {"type": "object"}}}}
            item[method] = op
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "毕业去向登记与网上签约平台 API", "version": version,
                 "description": "Every error answers {\"error\": {\"code\", \"message\"}} with a 4xx status."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"session": []}],
        "paths": paths,
    }


def _schema(model: type[BaseModel], schemas: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        schemas[name] = sub
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()]
