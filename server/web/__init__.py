"""The office UI: server-rendered pages (Jinja templates, htmx), in English and Simplified Chinese."""

from pathlib import Path

from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server.web.pages import WEB_HANDLERS, WEB_ROUTER
from server.web.pricing_pages import PRICING_HANDLERS
from server.web.production_pages import PRODUCTION_HANDLERS
from server.web.purchasing_pages import PURCHASING_HANDLERS
from server.web.quality_pages import QUALITY_HANDLERS
from server.web.sales_import_pages import SALES_IMPORT_HANDLERS
from server.web.sales_pages import SALES_HANDLERS
from server.web.shipping_pages import SHIPPING_HANDLERS
from server.web.webhook_pages import WEBHOOK_HANDLERS

WEB_DIR = Path(__file__).parent
TEMPLATE_CONFIG = TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine)
# On the pages router, so its refusals are pages too (login redirect, 403 page).
for handler in [*PURCHASING_HANDLERS, *QUALITY_HANDLERS]:
    WEB_ROUTER.register(handler)
for handler in [*SALES_HANDLERS, *SHIPPING_HANDLERS, *SALES_IMPORT_HANDLERS]:
    WEB_ROUTER.register(handler)
for handler in PRODUCTION_HANDLERS:
    WEB_ROUTER.register(handler)
for handler in WEBHOOK_HANDLERS:
    WEB_ROUTER.register(handler)
for handler in PRICING_HANDLERS:
    WEB_ROUTER.register(handler)
STATIC_ROUTER = create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False)

__all__ = ["WEB_HANDLERS", "STATIC_ROUTER", "TEMPLATE_CONFIG"]
