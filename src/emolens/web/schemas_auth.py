"""Request/response shapes of /api/v1/auth, apart from the storage rows (apps.accounts)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64, examples=["alice"])
    password: str = Field(min_length=1, max_length=1024, examples=["a few words I remember"])


class TokenRequest(Credentials):
    name: str = Field("", max_length=100, description="a label to recognise the token by", examples=["laptop"])
    expires_in_days: float | None = Field(
        None, gt=0, le=36500, description="at most the server's token_days (90 by default), which is also the default"
    )


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024, examples=["another few words I remember"])


class UserOut(BaseModel):
    id: int
    username: str
    created_at: str
    has_password: bool


class TokenOut(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'; shown once, stored only hashed")
    token_type: str = "bearer"
    id: int
    name: str
    created_at: str
    expires_at: str
    user: UserOut


class TokenInfo(BaseModel):
    id: int
    name: str
    created_at: str
    expires_at: str
