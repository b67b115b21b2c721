"""ASGI guards in front of every route: request bodies (size, pace, credentials) and Host / Origin headers.

Both are pure ASGI middleware, so they act before FastAPI reads a byte of the body,
and answer in the API's JSON error shape.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_SLACK = 64 * 1024  # multipart boundaries and headers around the file
SIGN_IN_FIRST = (
    "sign in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token) "
    "or use the pages after signing in at /login"
)
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class BodyRule:
    limit: int  # bytes
    signed_in: bool = False  # the route needs an account: no credentials at all -> 401 before reading
    setting: str = "EMOLENS_MAX_JSON_KB"  # named in the 413 message
    slack: int = 0  # multipart framing allowed on top of the file; not counted in the limit shown


class BodyLimit:
    """Every HTTP request body has an upper bound, checked before it is read (413 beyond).

    `rules` maps paths ('*' matches one segment) to BodyRule; other paths get `default`
    (JSON and forms). Content-Length over the limit is refused at once; a body without
    one is counted as it arrives. A body must keep arriving: it may take `timeout_s`
    plus one second per `min_rate` bytes received, then the request gets 408.
    """

    def __init__(
        self, app: ASGIApp, *, default: BodyRule, rules: Mapping[str, BodyRule], timeout_s: float, min_rate: float
    ):
        self.app, self.default, self.timeout_s, self.min_rate = app, default, timeout_s, min_rate
        self.rules = {k: v for k, v in rules.items() if "*" not in k}
        self.patterns = [
            (re.compile("^" + re.escape(k).replace(r"\*", "[^/]+") + "$"), v) for k, v in rules.items() if "*" in k
        ]

    def rule_for(self, path: str) -> BodyRule:
        if path in self.rules:
            return self.rules[path]
        return next((v for pattern, v in self.patterns if pattern.match(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.rule_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        refusal = None
        if rule.signed_in and scope.get("method") not in ("GET", "HEAD") and not _has_credentials(headers):
            refusal = JSONResponse(
                {"detail": SIGN_IN_FIRST}, 401, {"WWW-Authenticate": "Bearer", "Connection": "close"}
            )
        elif length.isdigit() and int(length) > rule.limit:
            refusal = JSONResponse({"detail": too_large(int(length), rule)}, 413, {"Connection": "close"})
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._paced(receive, rule), send)

    def _paced(self, receive: Receive, rule: BodyRule) -> Receive:
        start, seen, done = time.monotonic(), 0, False

        async def guarded() -> Message:
            nonlocal seen, done
            if done:  # the body is in: later calls wait for a disconnect, without a deadline
                return await receive()
            left = start + self.timeout_s + seen / self.min_rate - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
            except asyncio.TimeoutError:
                raise HTTPException(
                    408,
                    f"the request body arrived too slowly (this server waits "
                    f"{self.timeout_s:g} s plus 1 s per {self.min_rate / 1024:g} KB, "
                    "EMOLENS_BODY_TIMEOUT_S / EMOLENS_MIN_BODY_KBPS): send it again",
                    headers={"Connection": "close"},
                ) from None
            seen += len(message.get("body", b""))
            done = not message.get("more_body", False)
            if seen > rule.limit:
                raise HTTPException(413, too_large(seen, rule, so_far=True), headers={"Connection": "close"})
            return message

        return guarded


def _has_credentials(headers: Mapping[bytes, bytes]) -> bool:
    return b"authorization" in headers or b"emolens_session=" in headers.get(b"cookie", b"")


def too_large(size: int, rule: BodyRule, *, so_far: bool = False) -> str:
    size_text = f"{'more than ' if so_far else ''}{_size(size)}"
    return (
        f"the request body ({size_text}) is over this server's limit of {_size(rule.limit - rule.slack)} "
        f"({rule.setting}): send a smaller file or document"
    )


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


class HostGuard:
    """Answers only requests whose Host header names this server (DNS rebinding), and WebSockets
    only from pages of this server (an Origin header, when sent, must name a trusted host too)."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str]):
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)

    def trusted(self, host: str) -> bool:
        return "*" in self.hosts or host_name(host) in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        origin = headers.get(b"origin", b"").decode("latin-1") if scope["type"] == "websocket" else ""
        if self.trusted(host) and (not origin or self.trusted(urlsplit(origin).netloc)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # closing before accepting answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008, "reason": "untrusted host or origin"})
            return
        detail = (
            f"this server does not answer for the host {host_name(host)!r}: add it to EMOLENS_TRUSTED_HOSTS "
            "if it is this server's name"
        )
        await JSONResponse({"detail": detail}, 400)(scope, receive, send)


def host_name(host: str) -> str:
    """'Example.org:8000' -> 'example.org', '[::1]:8000' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def default_hosts(bound: str, configured: str) -> list[str]:
    """EMOLENS_TRUSTED_HOSTS when set; else the bound address, this machine's names, and localhost."""
    if configured.strip():
        return [h.strip().lower() for h in configured.split(",") if h.strip()]
    hosts = [bound.lower(), *LOCAL_NAMES]
    if bound in ("0.0.0.0", "::", ""):  # every interface: this machine's own names
        name = socket.gethostname()
        hosts += [name.lower(), socket.getfqdn().lower()]
        try:
            hosts += socket.gethostbyname_ex(name)[2]
        except OSError:
            pass
    return sorted(set(hosts))
