"""What the access services take and give."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from safecity.core.scope import Department, Right, Role

_USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,100}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserDraft(_Strict):
    username: str = Field(min_length=3, max_length=100, description="Letters, digits, _ . -")
    display_name: str = Field(default="", max_length=200)
    password: SecretStr = Field(description="At least 8 characters")
    role: Role
    org_unit_id: int = Field(ge=1, le=2**62, description="The user sees this unit's subtree")
    department: Department | None = Field(default=None, description="Partners only")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise ValueError("use 3-100 letters, digits, '_', '.' or '-'")
        return value

    @model_validator(mode="after")
    def _department(self) -> Self:
        if (self.role is Role.PARTNER) != (self.department is not None):
            raise ValueError("a partner user needs a department, and only a partner has one")
        return self


class UserPatch(_Strict):
    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    org_unit_id: int | None = Field(default=None, ge=1, le=2**62)
    department: Department | None = None
    disabled: bool | None = None
    password: SecretStr | None = None


class User(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    org_unit_id: int
    org_path: str
    department: Department | None
    disabled: bool
    locked_until: datetime | None


class IssuedToken(BaseModel):
    token: str = Field(description="Send as Authorization: Bearer TOKEN")
    expires_at: datetime | None
    user: User


class ApiKeyDraft(_Strict):
    user_id: int = Field(ge=1, le=2**62, description="The key acts as this user, with its scope")
    name: str = Field(min_length=1, max_length=200)


class GrantDraft(_Strict):
    department: Department
    point_id: int = Field(ge=1, le=2**62)
    rights: list[Right] = Field(min_length=1, max_length=len(Right))
    expires_at: datetime | None = None

    @field_validator("rights")
    @classmethod
    def _rights(cls, value: list[Right]) -> list[Right]:
        return sorted(set(value))


class Grant(BaseModel):
    id: int
    department: Department
    point_id: int
    org_path: str
    rights: list[Right]
    granted_by: str
    created_at: datetime
    expires_at: datetime | None


class AuditRecord(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    org_path: str
    source: str | None
    detail: dict[str, Any]
    hash: str


class VerifyReport(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
