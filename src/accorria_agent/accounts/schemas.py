"""Request and response bodies of the accounts API. Inputs are bounded; errors are clear 422s."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accorria_agent.accounts.passwords import MAX_LENGTH

# Deliberately simple: one @, a dot in the domain, no spaces. The verification mail proves the rest.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased; raises ValueError when it is not an email address."""
    email = value.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise ValueError("enter a valid email address, like name@example.com")
    return email


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class EmailIn(_In):
    email: str = Field(max_length=320)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_email(value)


class SignupIn(EmailIn):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=MAX_LENGTH)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            raise ValueError("enter your name")
        return name


class LoginIn(_In):
    email: str = Field(max_length=320)
    password: str = Field(max_length=MAX_LENGTH)


class PasswordChangeIn(_In):
    current_password: str = Field(max_length=MAX_LENGTH)
    new_password: str = Field(max_length=MAX_LENGTH)


class ResetConfirmIn(_In):
    token: str = Field(max_length=128)
    password: str = Field(max_length=MAX_LENGTH)


class InvitationIn(EmailIn):
    role: Literal["owner", "staff"] = "staff"


class AcceptInvitationIn(_In):
    token: str = Field(max_length=128)
    name: str = Field(default="", max_length=200)
    password: str = Field(max_length=MAX_LENGTH)


class RoleIn(_In):
    role: Literal["owner", "staff"]


class MemberOut(BaseModel):
    id: int
    name: str
    email: str
    email_verified: bool


class AccountOut(BaseModel):
    id: int
    name: str


class MeOut(BaseModel):
    """Who is signed in, into which account, with which role."""

    member: MemberOut
    account: AccountOut
    role: Literal["owner", "staff"]
    email_verified: bool


class AccountMemberOut(BaseModel):
    member_id: int
    name: str
    email: str
    role: Literal["owner", "staff"]
    email_verified: bool
    joined_at: datetime


class InvitationOut(BaseModel):
    email: str
    role: Literal["owner", "staff"]
    expires_at: datetime
