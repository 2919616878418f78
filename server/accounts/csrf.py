"""CSRF tokens bound to the session they were issued for.

Litestar's CSRF check is a double submit: the token in the header (or the form's `_csrf_token`) must equal the one in
the cookie, and carry the server's signature. Here the signature also covers the id of the logged-in session, so a
token taken from one session (a page left open on a shared machine, a token that leaked) is refused on every other,
and a login or a logout, which changes the session, hands the browser a new token in the same response. Before login
a token is bound to no session: the login form needs one, and an anonymous session grants nothing.
"""

from __future__ import annotations

import secrets
from secrets import compare_digest
from typing import Any

from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRF_SECRET_BYTES, CSRF_SECRET_LENGTH, CSRFMiddleware, generate_csrf_hash
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from server.accounts.session_store import session_key_of_request, session_key_of_response


class SessionBoundCSRFMiddleware(CSRFMiddleware):
    def _issue(self, session_key: str) -> str:
        nonce = secrets.token_hex(CSRF_SECRET_BYTES)
        return nonce + generate_csrf_hash(token=f"{nonce}:{session_key}", secret=self.config.secret)

    def _valid_for(self, token: str, session_key: str) -> bool:
        nonce, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        if len(nonce) < CSRF_SECRET_LENGTH or not signature:
            return False
        return compare_digest(signature, generate_csrf_hash(token=f"{nonce}:{session_key}", secret=self.config.secret))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or should_bypass_middleware(
            scope=scope, scopes=self.scopes, exclude_opt_key=self.config.exclude_from_csrf_key,
            exclude_path_pattern=self.exclude,
        ):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session_key = session_key_of_request(scope)
        cookie_token = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            if cookie_token and self._valid_for(cookie_token, session_key):
                state.csrf_token = cookie_token
                await self.app(scope, receive, self._renew_on_change(send, scope, session_key, None))
            else:  # none yet, or one of another session: the page is rendered with a new one, sent as the cookie too
                state.csrf_token = self._issue(session_key)
                await self.app(scope, receive, self._renew_on_change(send, scope, session_key, state.csrf_token))
            return
        sent = request.headers.get(self.config.header_name)
        if not sent and request.content_type[0] in {RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART}:
            sent = (await request.form()).get("_csrf_token")
        if not (sent and cookie_token and compare_digest(sent, cookie_token) and self._valid_for(sent, session_key)):
            raise PermissionDeniedException("CSRF token verification failed")
        state.csrf_token = sent
        await self.app(scope, receive, self._renew_on_change(send, scope, session_key, None))

    def _renew_on_change(self, send: Send, scope: Scope, session_key: str, new_token: str | None) -> Send:
        """Set the cookie when a new token was issued, or when the response changes the session (login, logout):
        then the browser's token would no longer be valid, so it gets one for the session it is about to hold."""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                next_key = session_key_of_response(scope)
                token = new_token if next_key == session_key else self._issue(next_key)
                if token is not None:
                    message.setdefault("headers", [])
                    self._set_cookie_if_needed(message=message, token=token)
            await send(message)

        return send_wrapper

