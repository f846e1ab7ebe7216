"""OpenAPI 3.1 document built from the routes and the @api metadata on handler methods: path parameters named
as the handler method names them, the xsrf header on every unsafe method, request and response schemas from the
pydantic models, and the media type each answer really has."""
from __future__ import annotations

import inspect
import re

from pydantic import BaseModel

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
UNSAFE = ("post", "put", "patch", "delete")
ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "description": "machine-readable error code"},
                       "message": {"type": "string", "description": "中文提示"},
                       "details": {"description": "per-field or per-row problems"}}}},
}
XSRF_HEADER = {"name": "X-XSRFToken", "in": "header", "required": True, "schema": {"type": "string"},
               "description": "the xsrf token: GET /api/session answers it (and sets the _xsrf cookie it must match)"}
_GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")


def openapi_path(pattern: str, names: list[str] | None = None) -> tuple[str, list[str]]:
    """Turn a Tornado route regex like /api/records/(\\d+) into /api/records/{record_id} (the names the handler
    method gives its arguments; {p1}, {p2}… when unknown)."""
    found = []

    def repl(_m):
        i = len(found)
        found.append(names[i] if names and i < len(names) else f"p{i + 1}")
        return "{" + found[-1] + "}"
    path = _GROUP.sub(repl, pattern.rstrip("$"))
    return path.replace("\\", ""), found


def parameter_names(handler) -> list[str] | None:
    """The positional arguments of the handler's methods after self (Tornado passes the groups in order)."""
    for method in HTTP_METHODS:
        fn = handler.__dict__.get(method)
        if fn is not None:
            params = list(inspect.signature(fn).parameters)[1:]
            return [p for p in params if p not in ("args", "kwargs")] or None
    return None


def documented_routes(routes) -> list[tuple[str, type]]:
    """JSON endpoints: everything under /api and /healthz."""
    return [(p, h) for p, h, *_ in routes if p.startswith(("/api/", "/healthz"))]


def build_document(routes, version: str = "0.1.0") -> dict:
    paths, schemas = {}, {"Error": ERROR_SCHEMA}
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for pattern, handler in documented_routes(routes):
        path, params = openapi_path(pattern, parameter_names(handler))
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
                  "responses": {"200": {"description": "OK", "content": _answer(meta, schemas)},
                                "4XX": {"description": "refused; see error.code", "content": error_content}}}
            for status, text in meta["responses"].items():
                text, model = text if isinstance(text, tuple) else (text, None)  # a refusal, or an answer of its own
                op["responses"][status] = {"description": text, "content": error_content if model is None else
                                           _answer({"produces": "application/json", "response": model}, schemas)}
            if method in UNSAFE:
                op["parameters"].append(XSRF_HEADER)
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
                 "description": "Every error answers {\"error\": {\"code\", \"message\"}} with a 4xx status. Log in"
                                " with POST /api/login after GET /api/session, which hands out the xsrf token every"
                                " POST/PUT/PATCH/DELETE sends as X-XSRFToken (with the _xsrf cookie)."},
        "components": {"schemas": schemas,
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"session": []}],
        "paths": paths,
    }


def _answer(meta: dict, schemas: dict) -> dict:
    produces, model = meta["produces"], meta["response"]
    if produces != "application/json":
        return {produces: {"schema": {"type": "string", "contentMediaType": produces}}}
    if model is None:
        return {"application/json": {"schema": {"type": "object"}}}
    schemas[model.__name__] = _schema(model, schemas)
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


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
