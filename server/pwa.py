"""The shop-floor app (pwa/dist, built by `npm run build`) served at /app/ from our own server.

Every file is revalidated (`no-cache`): the service worker serves the app offline from its precache, and when the
network is there a new build is noticed at once (the service worker then waits until the user reloads)."""

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

PWA_DIST = Path(__file__).resolve().parent.parent / "pwa" / "dist"

PWA_ROUTER = create_static_files_router(
    path="/app",
    directories=[PWA_DIST],
    html_mode=True,
    include_in_schema=False,
    cache_control=CacheControlHeader(no_cache=True),
    name="pwa",
)
