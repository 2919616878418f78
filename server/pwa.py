"""The shop-floor app (pwa/dist, built by `npm run build`, or FLOORSYNC_PWA_DIR) served at /app/ from our own server.

Every file is revalidated (`no-cache`): the service worker serves the app offline from its precache, and when the
network is there a new build is noticed at once (the service worker then waits until the user reloads)."""

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.router import Router
from litestar.static_files import create_static_files_router


def pwa_router(build: Path) -> Router:
    return create_static_files_router(
        path="/app",
        directories=[build],
        html_mode=True,
        include_in_schema=False,
        cache_control=CacheControlHeader(no_cache=True),
        name="pwa",
    )
