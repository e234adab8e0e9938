"""The API's shapes of accounts (for those who manage them). Never a password hash."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tuopin.domain.enums import Role


class Account(BaseModel):
    """An account; ``tag`` is its version (also its ETag: send it in If-Match to change it)."""

    username: str
    display_name: str
    role: str
    region_code: str = Field(description="'' for an account of every region (admin)")
    region_name: str
    helper: str = Field(description="A helper account's helper number ('' for others)")
    active: bool
    created_at: str
    is_self: bool
    may_change: bool = Field(description="Whether you may change or disable it")
    tag: str


class NewAccount(BaseModel):
    """A new account; without a password, tuopin makes one and returns it this once."""

    model_config = {"extra": "forbid"}

    username: str = Field(min_length=3, max_length=64)
    role: Role
    region_code: str | None = Field(default=None, max_length=12)
    display_name: str | None = Field(default=None, max_length=64)
    helper_number: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, min_length=1, max_length=256)


class CreatedAccount(BaseModel):
    account: Account
    password: str | None = Field(description="The password tuopin made (null: you gave one); "
                                             "shown this once")


class AccountChange(BaseModel):
    """What to change; a field left out is kept."""

    model_config = {"extra": "forbid"}

    role: Role | None = None
    region_code: str | None = Field(default=None, max_length=12)
    helper_number: str | None = Field(default=None, max_length=32)
    display_name: str | None = Field(default=None, max_length=64)
