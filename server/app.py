"""The Litestar application factory: wires the domain areas, auth, CSRF, rate limiting, channels, stores and metrics."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from importlib.metadata import PackageNotFoundError, version

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders, State
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.security.session_auth import SessionAuth
from litestar.types import Message, Scope
from redis.asyncio import Redis

from devices.controllers import DevicesController
from devices.service import digest
from server.accounts import login_throttle
from server.accounts.controllers import (LOGIN_PATHS, AuditController, AuthController, DepartmentsController,
                                         RolesController, UsersController)
from server.accounts.csrf import SessionBoundCSRFMiddleware
from server.accounts.identity import OfficeUser, retrieve_user_handler
from server.accounts.session_store import SESSION_COOKIE, DatabaseSessionStore, RotatingSessionConfig
from server.db import install_final_stages, prepare_engine, release_engine
from server.errors import EXCEPTION_HANDLERS, CheckedBodyRequest, document_error_responses
from server.health import health
from server.openapi import ContractSchemaPlugin, DocumentRenderPlugin, StrictJsonBodies, fix_allow_headers
from server.pwa import pwa_router
from server.inventory import commands as inventory_commands
from server.inventory.availability import when_reservations_cut, when_reservations_moved
from server.inventory.stock import ON_HAND_STAGE, lock_stock_places, stock_follows_location
from server.inventory.controllers import StockController
from server.labels import LabelController, LocationLabelController
from server.logs import RequestLog, logging_config
from server.rate_limit_store import CountingMemoryStore, RedisStoreWithFallback
from server.masterdata.feed import when_location_moves
from server.masterdata.resources import RESOURCES
from server.planning.forecasts import ForecastController
from server.production import commands as production_commands
from server.production.controllers import RESOLVERS as PRODUCTION_RESOLVERS
from server.production.controllers import DowntimeController, ProductionOrderController
from server.production.execution import when_downtime_starts
from server.purchasing import commands as purchasing_commands
from server.purchasing.scanning import RESOLVERS as PURCHASING_RESOLVERS
from server.planning import promising, schedules
from server.planning import service as planning
from server.planning.controllers import (
    MrpController, PlanningSettingsController, PromiseController, RfqFromPlanController, ScheduleController,
)
from server.mail.controllers import MessageController
from server.purchasing.controllers import PurchaseOrderController, PurchasingPolicyController, ReceiptController, RfqController
from server.orders import alerts as late_order_watch
from server.orders.controllers import CustomerSummaryController, SalesOrderCascadeController
from server.orders.progress import downstream_facts
from server.sales import service as sales_service
from server.sales.controllers import SalesOrderController, SalesPolicyController
from server.sales.import_controller import PaymentImportController, SalesImportController
from server.sales.pricing.controllers import PRICING_CONTROLLERS
from server.shipping import commands as shipping_commands
from server.shipping.planning import reservations_cut as shipment_reservations_cut
from server.shipping.planning import reservations_moved as shipment_reservations_moved
from server.shipping.scan import RESOLVERS as SHIPPING_RESOLVERS
from server.shipping.shipments import RESERVATION_KIND as SHIPMENT_RESERVATIONS
from server.shipping.controllers import HandlingUnitController, ProofController, ShipmentController
from server.quality import commands as quality_commands
from server.quality.controllers import QUALITY_CONTROLLERS
from server.records.controller import make_controllers
from server.scan.controllers import ScanController
from server.scan.resolve import install_resolvers
from server.settings import Settings, load_settings
from server.webhooks import dispatcher as webhook_dispatcher
from server.webhooks.service import WAKE_STAGE
from server.webhooks.controllers import WEBHOOK_CONTROLLERS
from sync import live
from sync.feed import FEED_STAGE
from sync.registry import install_commands, install_place_locker
from sync.controllers import SYNC_HANDLERS, bearer_token

SESSION_HOURS = 10
PUBLIC_PATHS = ["^/health$", "^/app(/|$)", "^/api/sync/", "^/schema", "^/static/", "^/login$", "^/api/auth/login$", "^/api/auth/csrf$", "^/metrics$", "^/favicon.ico$"]
# No inline script anywhere ('wasm-unsafe-eval' lets the floor app compile the camera decoder, nothing else); htmx's own indicator styles are switched off in the page, so no inline style either.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _version() -> str:
    try:
        return version("floorsync")
    except PackageNotFoundError:
        return "dev"


SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(self), geolocation=(self), microphone=()",
}
# Sent only on a request that came over HTTPS (through a trusted proxy's X-Forwarded-Proto): browsers ignore it over
# plain HTTP, and it must not stop a laptop's http://127.0.0.1 from working. No includeSubDomains: other hosts of the
# factory's domain may not speak HTTPS.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


async def add_security_headers(message: Message, scope: Scope) -> None:
    """A before-send hook, so that every response gets them, including 404s and refusals raised by middleware."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        if scope.get("scheme") == "https":
            headers["strict-transport-security"] = STRICT_TRANSPORT_SECURITY


def metrics_reader(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """/metrics tells how the factory works (paths, volumes, errors): only the monitoring system reads it, with
    FLOORSYNC_METRICS_TOKEN as a bearer token, or from FLOORSYNC_METRICS_ALLOW's networks (this machine by default)."""
    settings: Settings = connection.app.state.settings
    token = bearer_token(connection.headers)
    if settings.metrics_token and token and hmac.compare_digest(token.encode(), settings.metrics_token.encode()):
        return
    try:
        address = ipaddress.ip_address(connection.client.host if connection.client else "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in settings.metrics_networks):
        raise PermissionDeniedException("The metrics are for the monitoring system: send FLOORSYNC_METRICS_TOKEN as a bearer token")


class MetricsController(PrometheusController):
    """Litestar's Prometheus endpoint, kept out of the OpenAPI document: it serves the scraper, not API clients."""

    include_in_schema = False
    guards = [metrics_reader]


# The rate limits ask these on every request: async, because Litestar runs a plain function in a worker thread
# (two thread hand-offs per request, a tenth of a device push's CPU, for a comparison of strings).
async def _is_login_attempt(request) -> bool:
    return request.method == "POST" and request.url.path in LOGIN_PATHS


DEVICE_LIMITED_PATHS = frozenset({"/api/sync/push", "/api/sync/pull"})


async def _is_device_sync_call(request) -> bool:
    return request.url.path in DEVICE_LIMITED_PATHS and bearer_token(request.headers) is not None


def _device_token_digest(request) -> str:
    """Counted per device, not per address: a whole floor of tablets may sit behind one NAT."""
    return digest(bearer_token(request.headers) or "")


def wire_areas() -> None:
    """What the areas plug into the layers below them, named here in the order it runs, so that no import has a
    side effect and a lower layer never imports a higher one. Every process that writes calls it once."""
    install_final_stages([
        ON_HAND_STAGE,  # on-hand rows changed in memory are written before the feed is numbered
        WAKE_STAGE,  # webhook deliveries written in the transaction: the dispatcher is woken after commit
        live.BOARDS_STAGE,  # board events, after commit
        FEED_STAGE,  # last: the feed position counter is taken as late as possible; pokes after commit
    ])
    install_commands([
        *inventory_commands.COMMANDS,  # stock.move, stock.count
        *purchasing_commands.COMMANDS,  # receipt.receive
        *production_commands.COMMANDS,  # stock.issue, production.report, production.downtime
        *quality_commands.COMMANDS,  # quality.record
        *shipping_commands.COMMANDS,  # shipment.pack, shipment.load, delivery.sign
    ])
    install_place_locker(lock_stock_places)  # the push locks a batch's stock places before its first mutation
    install_resolvers([*PURCHASING_RESOLVERS, *PRODUCTION_RESOLVERS, *SHIPPING_RESOLVERS])
    when_location_moves(stock_follows_location)  # a bin's stock follows it into another scope
    when_reservations_cut(SHIPMENT_RESERVATIONS, shipment_reservations_cut)  # a count short of a pick: the shipment is short
    when_reservations_moved(SHIPMENT_RESERVATIONS, shipment_reservations_moved)  # a move carried a pick: its list follows
    sales_service.read_downstream_with(downstream_facts)  # what production and shipping did for an order
    sales_service.promise_with(promising.review_promises)  # an order's promises, worked out at its review
    when_downtime_starts(schedules.downtime_started)  # a work centre down: the site is rescheduled around it


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    wire_areas()
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None

    session_config = RotatingSessionConfig(
        store="sessions",
        key=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        renew_on_access=True,
    )
    session_auth = SessionAuth[OfficeUser, object](
        retrieve_user_handler=retrieve_user_handler,
        session_backend_config=session_config,
        exclude=PUBLIC_PATHS,
    )
    # Litestar's CSRF check, with the token bound to the session (server/accounts/csrf.py), in place of its own.
    csrf_config = CSRFConfig(
        secret=settings.secret,
        cookie_name="floorsync_csrf",
        header_name="x-csrftoken",
        cookie_secure=settings.secure_cookies,
        cookie_httponly=False,
        cookie_samesite="strict",
        exclude=["^/health$", "^/metrics$", "^/api/sync/"],
    )
    login_limit = RateLimitConfig(
        rate_limit=settings.login_rate_limit,  # type: ignore[arg-type]
        check_throttle_handler=_is_login_attempt,
        store="rate_limit",
    )
    device_limit = RateLimitConfig(
        rate_limit=settings.device_rate_limit,  # type: ignore[arg-type]
        check_throttle_handler=_is_device_sync_call,
        identifier_for_request=_device_token_digest,
        store="device_rate_limit",
    )
    channels = ChannelsPlugin(
        backend=live.ResilientRedisBackend(redis=redis, link=live.broker) if redis else MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
    )
    prometheus = PrometheusConfig(app_name="floorsync", group_path=True, exclude=["^/metrics$", "^/static/"])

    from server.web import WEB_HANDLERS, STATIC_ROUTER, TEMPLATE_CONFIG  # noqa: PLC0415 - the UI imports app-level pieces

    session_store = DatabaseSessionStore()
    record_controllers = [c for resource in RESOURCES for c in make_controllers(resource)]
    live.configure(channels, settings.deployment_key, hello_timeout_seconds=settings.ws_hello_timeout_seconds,
                   unauthenticated_per_address=settings.ws_unauthenticated_per_address)
    rate_limit_store = (
        RedisStoreWithFallback(redis, namespace=f"floorsync:{settings.deployment_key}:rate_limit") if redis else CountingMemoryStore()
    )
    login_throttle.configure(rate_limit_store, login_throttle.LockoutPolicy(
        failures_allowed=settings.login_failures_per_user,
        first_lockout_seconds=settings.login_lockout_seconds,
        longest_lockout_seconds=settings.login_lockout_max_seconds,
    ))

    async def on_startup(app: Litestar) -> None:
        await prepare_engine()
        # Sessions nobody came back to would otherwise stay forever; each start sweeps them.
        await session_store.delete_expired()
        webhook_dispatcher.start(settings.webhook_retry_base_seconds, settings.webhook_max_attempts)
        late_order_watch.start(settings.late_check_seconds)
        planning.start_schedule()

    async def on_shutdown(app: Litestar) -> None:
        await planning.stop_schedule()
        await late_order_watch.stop()
        await webhook_dispatcher.stop()
        await release_engine()
        if redis is not None:
            await redis.aclose()

    app = Litestar(
        route_handlers=[
            health,
            AuthController,
            UsersController,
            RolesController,
            DepartmentsController,
            AuditController,
            *record_controllers,
            LocationLabelController,
            LabelController,
            DevicesController,
            StockController,
            ScanController,
            PurchaseOrderController,
            PurchasingPolicyController,
            RfqController,
            MessageController,
            MrpController, PromiseController,
            ScheduleController,
            RfqFromPlanController,
            PlanningSettingsController,
            ReceiptController,
            SalesOrderController,
            SalesOrderCascadeController,
            SalesPolicyController,
            CustomerSummaryController,
            SalesImportController,
            PaymentImportController,
            *PRICING_CONTROLLERS,
            ShipmentController,
            HandlingUnitController,
            ProofController,
            ProductionOrderController,
            DowntimeController,
            ForecastController,
            *QUALITY_CONTROLLERS,
            *WEBHOOK_CONTROLLERS,
            *SYNC_HANDLERS,
            MetricsController,
            *WEB_HANDLERS,
            STATIC_ROUTER,
            pwa_router(settings.pwa_dir),
        ],
        on_app_init=[session_auth.on_app_init],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        middleware=[login_limit.middleware, device_limit.middleware, prometheus.middleware,
                    DefineMiddleware(SessionBoundCSRFMiddleware, config=csrf_config)],
        stores={
            "sessions": session_store,
            "rate_limit": rate_limit_store,
            "device_rate_limit": (
                RedisStoreWithFallback(redis, namespace=f"floorsync:{settings.deployment_key}:device_rate_limit") if redis else CountingMemoryStore()
            ),
        },
        plugins=[channels, ContractSchemaPlugin(), StrictJsonBodies()],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        before_send=[add_security_headers],
        template_config=TEMPLATE_CONFIG,
        openapi_config=OpenAPIConfig(
            title="Floorsync",
            version=_version(),
            description=(
                "Manufacturing order management: the office API (log in with POST /api/auth/login: the session "
                "cookie, and the CSRF token on every write) and the devices' sync protocol (a bearer device token)."
            ),
            render_plugins=[DocumentRenderPlugin(PUBLIC_PATHS)],
        ),
        logging_config=logging_config(settings.log_level),
        request_max_body_size=20 * 1024 * 1024,
        request_class=CheckedBodyRequest,
        state=State({"settings": settings, "redis": redis, "version": _version()}),
        debug=False,
    )
    document_error_responses(app, PUBLIC_PATHS, LOGIN_PATHS)
    fix_allow_headers(app)
    return app


def app_from_env() -> RequestLog:
    """Entry point for uvicorn --factory: the app, with one structured log line per request."""
    return RequestLog(create_app())


logging.getLogger("piccolo").setLevel(logging.WARNING)
