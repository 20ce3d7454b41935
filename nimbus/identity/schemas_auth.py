"""Request models for `POST /v3/auth/tokens`, mirroring Keystone's JSON schema."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class DomainRef(_Model):
    id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _id_or_name(self) -> DomainRef:
        if self.id is None and self.name is None:
            raise ValueError("a domain needs an id or a name")
        return self


class UserRef(_Model):
    id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    domain: DomainRef | None = None
    password: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _id_or_name(self) -> UserRef:
        if self.id is None and self.name is None:
            raise ValueError("a user needs an id or a name")
        return self


class ProjectRef(_Model):
    id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    domain: DomainRef | None = None

    @model_validator(mode="after")
    def _id_or_name(self) -> ProjectRef:
        if self.id is None and self.name is None:
            raise ValueError("a project needs an id or a name")
        return self


class PasswordMethod(_Model):
    user: UserRef


class TokenMethod(_Model):
    id: str = Field(min_length=1, max_length=1024)


class AppCredMethod(_Model):
    id: str | None = None
    name: str | None = None
    secret: str = Field(min_length=1, max_length=4096)
    user: UserRef | None = None


class Identity(_Model):
    methods: list[Literal["password", "token", "application_credential"]] = Field(min_length=1)
    password: PasswordMethod | None = None
    token: TokenMethod | None = None
    application_credential: AppCredMethod | None = None


class SystemScope(_Model):
    all: bool = True


class Scope(_Model):
    project: ProjectRef | None = None
    domain: DomainRef | None = None
    system: SystemScope | None = None
    OS_TRUST_trust: dict[str, str] | None = Field(default=None, alias="OS-TRUST:trust")


class Auth(_Model):
    identity: Identity
    # "unscoped" asks for an unscoped token even when the user has a default project.
    scope: Scope | Literal["unscoped"] | None = None


class AuthRequest(_Model):
    auth: Auth
