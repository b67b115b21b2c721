"""/api/v1/auth: register, API tokens, password change, who am I. Thin: the work is in emolens.apps.accounts.

Password checks go through the server's Login (web/services/login.py): throttled per username
and client address (429 + Retry-After), at most max_hashes at once (503 beyond).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from emolens.apps import accounts
from emolens.web.auth import CurrentAuth, CurrentUser, DbDep, HasherDep, LoginDep, clear_session_cookie, client_address
from emolens.web.deps import SettingsDep
from emolens.web.schemas import ErrorOut
from emolens.web.schemas_auth import Credentials, PasswordChange, TokenInfo, TokenOut, TokenRequest, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])

THROTTLED = {
    429: {"model": ErrorOut, "description": "too many failed sign-ins: wait Retry-After seconds"},
    503: {"model": ErrorOut, "description": "too many passwords being checked: try again shortly"},
}


def account_error(exc: accounts.AccountError) -> HTTPException:
    if isinstance(exc, accounts.UsernameTaken):
        return HTTPException(409, str(exc))
    if isinstance(exc, accounts.InvalidCredentials):
        return HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
    return HTTPException(422, str(exc))  # InvalidUsername, WeakPassword


@router.post(
    "/register",
    status_code=201,
    response_model=UserOut,
    summary="Create a local account",
    responses={
        409: {"model": ErrorOut, "description": "the username is taken"},
        422: {
            "model": ErrorOut,
            "description": "invalid username, or a password that is too short, too common or contains the username",
        },
        503: THROTTLED[503],
    },
)
async def register(body: Credentials, db: DbDep, hasher: HasherDep, login: LoginDep) -> UserOut:
    """The password is stored only as an argon2id hash. Then get a token from POST /api/v1/auth/token."""
    try:
        user = await login.gate.run(accounts.create_user, db, body.username, body.password, hasher=hasher)
    except accounts.AccountError as exc:
        raise account_error(exc) from None
    return UserOut(**user.to_dict())


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Get a personal API token",
    responses={401: {"model": ErrorOut, "description": "wrong username or password"}, **THROTTLED},
)
async def token(
    body: TokenRequest, request: Request, db: DbDep, hasher: HasherDep, login: LoginDep, settings: SettingsDep
) -> TokenOut:
    """A new bearer token for the API (shown once; only its SHA-256 is stored). It expires after
    `expires_in_days` (at most the server's token_days, 90 by default); revoke it with DELETE /tokens/{id}."""
    try:
        user = await login.sign_in(db, hasher, body.username, body.password, client_address(request))
    except accounts.AccountError as exc:
        raise account_error(exc) from None
    days = min(body.expires_in_days or settings.token_days, settings.token_days)
    issued = await run_in_threadpool(accounts.issue_token, db, user.id, body.name, ttl_s=days * 86400)
    return TokenOut(
        token=issued.secret,
        id=issued.token.id,
        name=issued.token.name,
        created_at=issued.token.created_at,
        expires_at=issued.token.expires_at,
        user=UserOut(**user.to_dict()),
    )


@router.post(
    "/password",
    status_code=204,
    summary="Change your password (revokes every token and session)",
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}, **THROTTLED},
)
async def change_password(
    body: PasswordChange, request: Request, auth: CurrentAuth, db: DbDep, hasher: HasherDep, login: LoginDep
) -> Response:
    """Checks the current password (throttled like sign-in), sets the new one, and revokes every API token and
    browser session of the account, this one included: get a new token afterwards."""
    try:
        await login.sign_in(db, hasher, auth.user.username, body.current_password, client_address(request))
        await login.gate.run(accounts.set_password, db, auth.user.id, body.new_password, hasher=hasher)
    except accounts.AccountError as exc:
        raise account_error(exc) from None
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(user: CurrentUser) -> UserOut:
    return UserOut(**user.to_dict())


@router.get("/tokens", response_model=list[TokenInfo], summary="Your live API tokens (names and dates, never secrets)")
def tokens(user: CurrentUser, db: DbDep) -> list[TokenInfo]:
    return [TokenInfo(**t.to_dict()) for t in accounts.list_tokens(db, user.id)]


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke an API token",
    responses={404: {"model": ErrorOut, "description": "no such token of yours"}},
)
def revoke(token_id: int, user: CurrentUser, db: DbDep) -> Response:
    if not accounts.revoke_token(db, user.id, token_id):
        raise HTTPException(404, f"no API token {token_id}")
    return Response(status_code=204)
