"""What the access services take and give: validated drafts in, read models out.

Read models never carry a password hash or a token digest. Times are UTC-aware on the way in and
out (SQLite hands back naive UTC, so the read models attach the zone).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from safecity.core.scope import Department, Right, Role

USERNAME: Final = re.compile(r"[A-Za-z0-9_.-]{3,100}")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Utc = Annotated[datetime, AfterValidator(as_utc)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class UserDraft(_Strict):
    username: str = Field(min_length=3, max_length=100, description="3-100 of A-Z a-z 0-9 _ . -")
    display_name: str = Field(default="", max_length=200)
    password: SecretStr = Field(description="At least 8 characters")
    role: Role
    org_unit_id: int = Field(ge=1, le=2**62, description="The user sees this unit's subtree")
    department: Department | None = Field(
        default=None, description="The partner's department: required for partners, else none"
    )

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not USERNAME.fullmatch(value):
            raise ValueError("use 3-100 letters, digits, '_', '.' or '-'")
        return value

    @model_validator(mode="after")
    def _department(self) -> Self:
        if (self.role is Role.PARTNER) != (self.department is not None):
            raise ValueError("a partner user needs a department, and only a partner has one")
        return self


class UserPatch(_Strict):
    """Fields left out stay as they are. Changing the role away from partner drops the
    department; changing it to partner needs one. A new password ends the user's sessions."""

    display_name: str | None = Field(default=None, max_length=200)
    role: Role | None = None
    org_unit_id: int | None = Field(default=None, ge=1, le=2**62)
    department: Department | None = None
    disabled: bool | None = None
    password: SecretStr | None = Field(default=None, description="At least 8 characters")


class User(_View):
    id: int
    username: str
    display_name: str
    role: Role
    org_unit_id: int
    org_path: str
    department: Department | None
    disabled: bool
    locked_until: Utc | None = Field(description="Set while too many failed sign-ins lock it")


class IssuedToken(_View):
    token: str = Field(description="Send as Authorization: Bearer TOKEN")
    expires_at: Utc | None
    user: User


class ApiKeyDraft(_Strict):
    user_id: int = Field(ge=1, le=2**62, description="The key acts as this user, with its scope")
    name: str = Field(min_length=1, max_length=200)


class GrantDraft(_Strict):
    department: Department
    point_id: int = Field(ge=1, le=2**62)
    rights: list[Right] = Field(min_length=1, max_length=len(Right))
    expires_at: Utc | None = Field(default=None, description="None: until revoked")

    @field_validator("rights")
    @classmethod
    def _rights(cls, value: list[Right]) -> list[Right]:
        return sorted(set(value))


class Grant(_View):
    id: int
    department: Department
    point_id: int
    org_path: str
    rights: list[Right]
    granted_by: str
    created_at: Utc
    expires_at: Utc | None


class AuditRecord(_View):
    seq: int
    at: Utc
    actor: str
    action: str
    target: str
    org_path: str
    source: str | None
    detail: dict[str, Any]
    hash: str


class VerifyReport(_View):
    ok: bool
    checked: int = Field(description="Records found sound before the first bad one (or all)")
    first_bad_seq: int | None = None
    problem: str | None = None
