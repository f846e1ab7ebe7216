"""Request models shared by handlers: unknown fields refused, JSON types strict."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Query(BaseModel):
    """Query strings arrive as text, so numbers are converted; unknown parameters are still refused."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Answer(BaseModel):
    """A JSON answer's model, for the OpenAPI document (handlers/openapi.py); fields not listed are not allowed."""
    model_config = ConfigDict(extra="forbid")
