"""Request models for domains, projects, users and groups, mirroring Keystone's JSON schemas.

Known attributes are typed strictly (a string "true" is not a boolean); any other attribute
is kept as an extra attribute and shown back, as Keystone does. An update must name at least
one attribute, and never sets a non-nullable one to null.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Keystone's names must hold a non-blank character; project, domain and group names are
# at most 64 characters, user names 255.
Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"\S")]
Name255 = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"\S")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A TEXT column holds 64 KiB on MariaDB; 4-byte characters make this the safe bound.
Description = Annotated[str, StringConstraints(max_length=16_383)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^,/]*$")]
Tags = Annotated[list[Tag], Field(max_length=80)]
Password = Annotated[str, StringConstraints(max_length=4096)]


def filter_query(alias: str | None = None) -> Any:
    """A query filter. PostgreSQL refuses NUL characters, so they are a 400, not a 500."""
    return Query(alias=alias, max_length=1024, pattern=r"^[^\x00]*$")


QueryStr = Annotated[str | None, filter_query()]


def _reject_nul(value: Any) -> None:
    """Strings the databases cannot store (NUL, lone surrogates) are a 400, not a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("strings cannot contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            raise ValueError("strings must be valid Unicode") from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        _reject_nul(data)
        return data

    @model_validator(mode="after")
    def _not_null(self) -> _Resource:
        for name in self.not_null:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def changes(self) -> dict[str, Any]:
        """What an update sets: the attributes the client sent, extra ones included."""
        return self.model_dump(exclude_unset=True)


class _Update(_Resource):
    @model_validator(mode="after")
    def _not_empty(self) -> _Update:
        if not self.model_fields_set and not self.model_extra:
            raise ValueError("an update needs at least one attribute")
        return self


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- domains -----------------------------------------------------------------------------

class DomainCreate(_Resource):
    name: Name64
    description: Description | None = ""
    enabled: bool = True
    explicit_domain_id: Id | None = None
    options: dict[str, Any] | None = None
    tags: Tags | None = None


class DomainUpdate(_Update):
    not_null = ("name", "enabled", "tags")
    name: Name64 | None = None
    description: Description | None = None
    enabled: bool | None = None
    options: dict[str, Any] | None = None
    tags: Tags | None = None


class DomainCreateRequest(_Envelope):
    domain: DomainCreate


class DomainUpdateRequest(_Envelope):
    domain: DomainUpdate


# --- projects ----------------------------------------------------------------------------

class ProjectCreate(_Resource):
    name: Name64
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: Description | None = ""
    enabled: bool = True
    is_domain: bool = False
    tags: Tags = []
    options: dict[str, Any] | None = None


class ProjectUpdate(_Update):
    not_null = ("name", "enabled", "is_domain", "tags")
    name: Name64 | None = None
    domain_id: Id | None = None
    parent_id: Id | None = None
    description: Description | None = None
    enabled: bool | None = None
    is_domain: bool | None = None
    tags: Tags | None = None
    options: dict[str, Any] | None = None


class ProjectCreateRequest(_Envelope):
    project: ProjectCreate


class ProjectUpdateRequest(_Envelope):
    project: ProjectUpdate


class TagsRequest(_Envelope):
    tags: Tags


# --- users -------------------------------------------------------------------------------

class UserCreate(_Resource):
    name: Name255
    domain_id: Id | None = None
    password: Password | None = None
    enabled: bool = True
    default_project_id: Id | None = None
    description: Description | None = None
    options: dict[str, Any] | None = None


class UserUpdate(_Update):
    not_null = ("name", "enabled", "domain_id")
    name: Name255 | None = None
    domain_id: Id | None = None
    password: Password | None = None
    enabled: bool | None = None
    default_project_id: Id | None = None
    description: Description | None = None
    options: dict[str, Any] | None = None


class UserCreateRequest(_Envelope):
    user: UserCreate


class UserUpdateRequest(_Envelope):
    user: UserUpdate


class PasswordChange(_Envelope):
    original_password: Password
    password: Password


class PasswordChangeRequest(_Envelope):
    user: PasswordChange


# --- groups ------------------------------------------------------------------------------

class GroupCreate(_Resource):
    name: Name64
    domain_id: Id | None = None
    description: Description | None = ""


class GroupUpdate(_Update):
    not_null = ("name", "domain_id")
    name: Name64 | None = None
    domain_id: Id | None = None
    description: Description | None = None


class GroupCreateRequest(_Envelope):
    group: GroupCreate


class GroupUpdateRequest(_Envelope):
    group: GroupUpdate
