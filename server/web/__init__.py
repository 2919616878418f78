"""The office UI: server-rendered pages (Jinja templates, htmx), in English and Simplified Chinese."""

from pathlib import Path

from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server.web.pages import WEB_HANDLERS

WEB_DIR = Path(__file__).parent
TEMPLATE_CONFIG = TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine)
STATIC_ROUTER = create_static_files_router(path="/static", directories=[WEB_DIR / "static"], include_in_schema=False)

__all__ = ["WEB_HANDLERS", "STATIC_ROUTER", "TEMPLATE_CONFIG"]
