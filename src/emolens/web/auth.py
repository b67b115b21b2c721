"""Who is calling: `CurrentUser` from a bearer token or a session cookie, CSRF checks, cookie helpers.

    @router.get("/things")
    def things(user: CurrentUser, db: DbDep): ...          # 401 when nobody is signed in

API clients send `Authorization: Bearer emo_...` (from POST /api/v1/auth/token) and
need no CSRF token. Browsers send the HttpOnly, SameSite=Lax session cookie; for
those, every unsafe request (POST, PUT, PATCH, DELETE) must also carry the session's
CSRF token, as the `X-CSRF-Token` header (pages' JavaScript reads it from
`<meta name="csrf-token">`) or the `csrf_token` form field. Forms shown before
sign-in (login, register) use a double-submit cookie instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response

from emolens.apps.accounts import Session, User, same_secret, session_for, token_expiry, user_for_token
from emolens.apps.db import Database
from emolens.web.services.login import Login

SESSION_COOKIE = "emolens_session"
PRELOGIN_COOKIE = "emolens_csrf"  # double-submit token for the login and register forms
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_db(conn: HTTPConnection) -> Database:
    return conn.app.state.db


def get_hasher(conn: HTTPConnection) -> PasswordHasher:
    return conn.app.state.hasher


def get_login(conn: HTTPConnection) -> Login:
    return conn.app.state.login


def client_address(conn: HTTPConnection) -> str:
    """The peer's address (behind a reverse proxy: the proxy's, so all clients share one)."""
    return conn.client.host if conn.client else "unknown"


DbDep = Annotated[Database, Depends(get_db)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
LoginDep = Annotated[Login, Depends(get_login)]


@dataclass(frozen=True)
class Auth:
    """The caller: a user, and the browser session when it came with the cookie (None for tokens)."""

    user: User
    session: Session | None = None

    @property
    def csrf_token(self) -> str | None:
        return None if self.session is None else self.session.csrf_token


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _identify(db: Database, authorization: str | None, cookie: str | None) -> Auth | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorized("send the API token as 'Authorization: Bearer <token>'")
        user = user_for_token(db, value.strip())
        if user is None:
            expired = token_expiry(db, value.strip())
            what = f"expired at {expired}" if expired else "unknown or revoked"
            raise _unauthorized(f"this API token is {what}: get a new one from POST /api/v1/auth/token")
        return Auth(user)
    if cookie:
        session = session_for(db, cookie)
        if session is not None:
            return Auth(session.user, session)
    return None


async def csrf_sent(request: Request) -> str | None:
    """The CSRF token in the X-CSRF-Token header, else in the csrf_token field of a form body."""
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").split(";")[0].strip().lower() in FORM_TYPES:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent


async def require_csrf(request: Request, expected: str) -> None:
    if not same_secret(await csrf_sent(request), expected):
        raise HTTPException(
            403,
            "missing or wrong CSRF token: reload the page and try again "
            "(API clients: use an Authorization: Bearer token instead of the cookie)",
        )


async def optional_auth(request: Request, db: DbDep) -> Auth | None:
    """The caller, or None when nobody is signed in; unsafe cookie requests are CSRF-checked."""
    auth = await run_in_threadpool(
        _identify, db, request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE)
    )
    if auth is not None and auth.session is not None and request.method not in SAFE_METHODS:
        await require_csrf(request, auth.session.csrf_token)
    return auth


async def current_auth(auth: Annotated[Auth | None, Depends(optional_auth)]) -> Auth:
    if auth is None:
        raise _unauthorized(
            "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token) "
            "or use the pages after signing in at /login"
        )
    return auth


def current_user(auth: Annotated[Auth, Depends(current_auth)]) -> User:
    return auth.user


OptionalAuth = Annotated[Auth | None, Depends(optional_auth)]
CurrentAuth = Annotated[Auth, Depends(current_auth)]
CurrentUser = Annotated[User, Depends(current_user)]


def set_session_cookie(response: Response, request: Request, secret: str, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def prelogin_token(request: Request) -> str:
    """The double-submit token for a sign-in form: the cookie's value, or a new one (set it with the page)."""
    return request.cookies.get(PRELOGIN_COOKIE) or secrets.token_urlsafe(32)


def set_prelogin_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        PRELOGIN_COOKIE,
        token,
        max_age=3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_prelogin(request: Request, sent: str | None) -> None:
    if not same_secret(sent, request.cookies.get(PRELOGIN_COOKIE)):
        raise HTTPException(
            403,
            "missing or wrong CSRF token: reload the sign-in page and try again "
            "(cookies must be allowed for this site)",
        )


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only (no scheme, no host, no '//' or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target
