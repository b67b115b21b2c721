"""Sign-in pages: /login, /register (forms with a double-submit CSRF token) and POST /logout.

Sign-ins are throttled like the API's (429 with Retry-After and the form again); password
checks share the server's gate (web/services/login.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from emolens.apps import accounts
from emolens.web.auth import (
    SESSION_COOKIE,
    CurrentAuth,
    DbDep,
    HasherDep,
    LoginDep,
    OptionalAuth,
    check_prelogin,
    clear_session_cookie,
    client_address,
    prelogin_token,
    safe_next,
    set_prelogin_cookie,
    set_session_cookie,
)
from emolens.web.deps import EngineDep, SettingsDep, TemplatesDep
from emolens.web.render import render_page
from emolens.web.services.login import HashesBusy, TooManyAttempts

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]


def _form(
    request: Request,
    templates,
    engine,
    mode: str,
    *,
    next_url: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = prelogin_token(request)
    response = render_page(
        request,
        templates,
        engine,
        "account_form.html",
        active=mode,
        mode=mode,
        error=error,
        username=username,
        next_url=next_url,
        form_token=token,
        status_code=status_code,
    )
    set_prelogin_cookie(response, request, token)
    return response


def _signed_in(request: Request, db, user: accounts.User, next_url: str, settings) -> RedirectResponse:
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # never keep a session id chosen before sign-in (session fixation)
        accounts.end_session(db, old)
    issued = accounts.start_session(db, user.id, ttl_s=settings.session_ttl_s)
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, request, issued.secret, issued.max_age_s)
    return response


@router.get("/login", response_class=HTMLResponse, name="login_page")
def login_page(
    request: Request, auth: OptionalAuth, templates: TemplatesDep, engine: EngineDep, next: str | None = None
) -> Response:
    if auth is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, templates, engine, "login", next_url=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    db: DbDep,
    hasher: HasherDep,
    signin: LoginDep,
    templates: TemplatesDep,
    engine: EngineDep,
    settings: SettingsDep,
    username: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
) -> Response:
    next_url = safe_next(next)
    try:
        check_prelogin(request, csrf_token)
        user = await signin.sign_in(db, hasher, username, password, client_address(request))
    except HTTPException as exc:
        return _form(
            request,
            templates,
            engine,
            "login",
            next_url=next_url,
            error=exc.detail,
            username=username,
            status_code=exc.status_code,
        )
    except TooManyAttempts as exc:
        response = _form(
            request, templates, engine, "login", next_url=next_url, error=str(exc), username=username, status_code=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (accounts.AccountError, HashesBusy) as exc:
        return _form(
            request,
            templates,
            engine,
            "login",
            next_url=next_url,
            error=str(exc),
            username=username,
            status_code=503 if isinstance(exc, HashesBusy) else 401,
        )
    return await run_in_threadpool(_signed_in, request, db, user, next_url, settings)


@router.get("/register", response_class=HTMLResponse, name="register_page")
def register_page(
    request: Request, auth: OptionalAuth, templates: TemplatesDep, engine: EngineDep, next: str | None = None
) -> Response:
    if auth is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, templates, engine, "register", next_url=safe_next(next))


@router.post("/register")
async def register(
    request: Request,
    db: DbDep,
    hasher: HasherDep,
    signin: LoginDep,
    templates: TemplatesDep,
    engine: EngineDep,
    settings: SettingsDep,
    username: FormStr = "",
    password: FormStr = "",
    confirm: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
) -> Response:
    next_url = safe_next(next)
    try:
        check_prelogin(request, csrf_token)
        if password != confirm:
            raise accounts.WeakPassword("the two passwords differ: type the same password twice")
        user = await signin.gate.run(accounts.create_user, db, username, password, hasher=hasher)
    except HTTPException as exc:
        return _form(
            request,
            templates,
            engine,
            "register",
            next_url=next_url,
            error=exc.detail,
            username=username,
            status_code=exc.status_code,
        )
    except (accounts.AccountError, HashesBusy) as exc:
        status = 409 if isinstance(exc, accounts.UsernameTaken) else 503 if isinstance(exc, HashesBusy) else 422
        return _form(
            request,
            templates,
            engine,
            "register",
            next_url=next_url,
            error=str(exc),
            username=username,
            status_code=status,
        )
    return await run_in_threadpool(_signed_in, request, db, user, next_url, settings)


@router.post("/logout")
def logout(request: Request, auth: CurrentAuth, db: DbDep) -> Response:
    """Ends this browser's session (CSRF-checked like every cookie post)."""
    if auth.session is not None:
        accounts.end_session(db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response
