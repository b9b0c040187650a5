"""Offset pagination shared by every list a service returns."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class PageRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    offset: int = Field(default=0, ge=0, le=10_000_000, description="Rows to skip")
    limit: int = Field(default=50, ge=1, le=10_000, description="Rows to return at most")


class Page(BaseModel, Generic[T]):
    items: list[T] = Field(description="This page's rows")
    total: int = Field(ge=0, description="Rows matching the query in all pages")
    offset: int = Field(ge=0, description="Rows skipped before this page")
    limit: int = Field(ge=1, description="Page size asked for")
