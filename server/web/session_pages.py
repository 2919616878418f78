"""Login, logout, the language switch and the home page (with the late and at-risk order lines for sales readers)."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_401_UNAUTHORIZED

from server.accounts import service as accounts
from server.accounts.controllers import start_session
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import LANGUAGES
from server.orders import tracking
from server.web.forms import display
from server.web.render import LANGUAGE_COOKIE, current_user, readable_resources, render

YEAR_SECONDS = 365 * 24 * 3600
HOME_LATE_LINES = 10


def _language_cookie(lang: str) -> Cookie:
    return Cookie(key=LANGUAGE_COOKIE, value=lang, max_age=YEAR_SECONDS, samesite="lax", httponly=True, path="/")


def _local_path(target: str | None, fallback: str = "/") -> str:
    """Only a path on this site: an open redirect to another host would make the switch a phishing tool."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_form(request: Request, lang: str | None = None) -> Template | Redirect:
    if current_user(request) is not None:
        return Redirect("/")
    if lang not in LANGUAGES:
        return render(request, "login.html", username="", error=None)
    # The reader picked a language before logging in: show it now and remember it in a cookie.
    response = render(request, "login.html", lang=lang, username="", error=None)
    response.cookies.append(_language_cookie(lang))
    return response


@post("/login", exclude_from_auth=True, include_in_schema=False)
async def login(request: Request) -> Template | Redirect:
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")[:256]
    try:
        user_id = await accounts.authenticate(username, password)
    except ApiError:
        return render(request, "login.html", status_code=HTTP_401_UNAUTHORIZED, username=username, error="login.failed")
    user = await start_session(request, user_id)
    response = Redirect("/")
    response.cookies.append(_language_cookie(user.language))
    return response


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Redirect:
    request.clear_session()
    return Redirect("/login")


@post("/language", include_in_schema=False)
async def switch_language(request: Request) -> Redirect:
    form = await request.form()
    language = str(form.get("language") or "")
    back = _local_path(str(form.get("next") or ""))
    user = current_user(request)
    if user is None or language not in LANGUAGES:
        return Redirect(back)
    if language != user.language:
        async with write_transaction():
            await accounts.set_language(user, language)
    response = Redirect(back)
    response.cookies.append(_language_cookie(language))
    return response


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    user = current_user(request)
    resources = readable_resources(user)
    return render(
        request,
        "home.html",
        resources=resources,
        writable={r.path for r in resources if user and user.may(r.write_permission)},
        late_lines=await tracking.late_lines(HOME_LATE_LINES) if user and user.may("sales.read") else None,
        show=display,
    )


SESSION_HANDLERS = [login_form, login, logout, switch_language, home]
