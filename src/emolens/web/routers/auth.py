"""/api/v1/auth: register, API tokens, who am I. Thin: the work is in emolens.apps.accounts."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from emolens.apps import accounts
from emolens.web.auth import CurrentUser, DbDep, HasherDep
from emolens.web.schemas import ErrorOut
from emolens.web.schemas_auth import Credentials, TokenInfo, TokenOut, TokenRequest, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


def account_error(exc: accounts.AccountError) -> HTTPException:
    if isinstance(exc, accounts.UsernameTaken):
        return HTTPException(409, str(exc))
    if isinstance(exc, accounts.InvalidCredentials):
        return HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
    return HTTPException(422, str(exc))  # InvalidUsername, WeakPassword


@router.post("/register", status_code=201, response_model=UserOut, summary="Create a local account",
             responses={409: {"model": ErrorOut, "description": "the username is taken"},
                        422: {"model": ErrorOut, "description": "invalid username or too short a password"}})
def register(body: Credentials, db: DbDep, hasher: HasherDep) -> UserOut:
    """The password is stored only as an argon2id hash. Then get a token from POST /api/v1/auth/token."""
    try:
        user = accounts.create_user(db, body.username, body.password, hasher=hasher)
    except accounts.AccountError as exc:
        raise account_error(exc) from None
    return UserOut(**user.to_dict())


@router.post("/token", response_model=TokenOut, summary="Get a personal API token",
             responses={401: {"model": ErrorOut, "description": "wrong username or password"}})
def token(body: TokenRequest, db: DbDep, hasher: HasherDep) -> TokenOut:
    """A new bearer token for the API (shown once; only its SHA-256 is stored). Revoke it with DELETE /tokens/{id}."""
    try:
        user = accounts.authenticate(db, body.username, body.password, hasher=hasher)
    except accounts.AccountError as exc:
        raise account_error(exc) from None
    issued = accounts.issue_token(db, user.id, body.name)
    return TokenOut(token=issued.secret, id=issued.token.id, name=issued.token.name,
                    created_at=issued.token.created_at, user=UserOut(**user.to_dict()))


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(user: CurrentUser) -> UserOut:
    return UserOut(**user.to_dict())


@router.get("/tokens", response_model=list[TokenInfo], summary="Your API tokens (names and dates, never secrets)")
def tokens(user: CurrentUser, db: DbDep) -> list[TokenInfo]:
    return [TokenInfo(**t.to_dict()) for t in accounts.list_tokens(db, user.id)]


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke an API token",
               responses={404: {"model": ErrorOut, "description": "no such token of yours"}})
def revoke(token_id: int, user: CurrentUser, db: DbDep) -> Response:
    if not accounts.revoke_token(db, user.id, token_id):
        raise HTTPException(404, f"no API token {token_id}")
    return Response(status_code=204)
