"""Guards at the edge, before any view or consumer sees a request.

* HTTP: requests whose path, query or form fields carry control characters get a 400
  (PostgreSQL cannot store NUL, and no page has a use for the others).
* HTTP with DEBUG on: tracebacks, settings and URL lists only for loopback visitors that
  came through no proxy, and for staff; everyone else gets the plain error pages.
* WebSocket: the Origin must be the page's own origin (scheme, host and port) or one
  listed in CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host
from django.template.loader import render_to_string
from django.utils.http import is_same_domain
from django.views.debug import ExceptionReporter
from django.views.defaults import page_not_found

# C0 controls and DEL. Form fields may carry tab, newline and carriage return (a textarea).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
LOOPBACK = {"127.0.0.1", "::1"}
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def has_control_characters(request: HttpRequest) -> bool:
    """Whether the path, a query parameter or a form field holds a control character."""
    if CONTROL.search(request.path):
        return True
    for key, values in request.GET.lists():
        if CONTROL.search(key) or any(CONTROL.search(v) for v in values):
            return True
    if request.method == "POST" and request.content_type in FORM_TYPES:
        for key, values in request.POST.lists():
            if CONTROL.search(key) or any(FORM_CONTROL.search(v) for v in values):
                return True
    return False


def bad_request_page(request: HttpRequest | None = None) -> HttpResponse:
    """The plain 400 page."""
    return HttpResponse(render_to_string("400.html", request=request), status=400)


def sees_debug_pages(request: HttpRequest | None) -> bool:
    """Loopback visitors that came through no proxy, and staff, may see Django's debug pages."""
    if request is None:
        return False
    meta = request.META
    if meta.get("REMOTE_ADDR") in LOOPBACK and not any(h in meta for h in PROXY_HEADERS):
        return True
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_staff)
    except Exception:  # the failure being reported may be the database itself
        return False


class RequestGuard:
    """Refuses requests with control characters; hides DEBUG's 404 pages from strangers."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        if has_control_characters(request):
            return bad_request_page()
        return self._hide_debug_404(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        # The ASGI handler has read the whole body already: parsing it here blocks nothing.
        if has_control_characters(request):
            return bad_request_page()
        return self._hide_debug_404(request, await self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception):
        """With DEBUG on, a view's Http404 shows strangers the plain 404 page."""
        if settings.DEBUG and isinstance(exception, Http404) and not sees_debug_pages(request):
            return page_not_found(request, exception)
        return None

    def _hide_debug_404(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # An unresolved URL (no resolver_match) gets, with DEBUG on, Django's page that
        # lists every URL pattern.
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
            and not sees_debug_pages(request)
        ):
            return page_not_found(request, Http404())
        return response


class TownExceptionReporter(ExceptionReporter):
    """DEBUG's traceback page, for those who may see it; the plain error page for others."""

    def _hidden(self) -> bool:
        return settings.DEBUG and not sees_debug_pages(self.request)

    def _plain_template(self) -> str:
        if self.exc_type is not None and issubclass(self.exc_type, SuspiciousOperation):
            return "400.html"
        return "500.html"

    def get_traceback_html(self) -> str:
        if self._hidden():
            return render_to_string(self._plain_template())
        return super().get_traceback_html()

    def get_traceback_text(self) -> str:
        if self._hidden():
            return "Bad request\n" if self._plain_template() == "400.html" else "Server error\n"
        return super().get_traceback_text()


# -- WebSocket origins --------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]  # scheme, host (IPv6 in brackets), port


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, or None ("null", paths, user info, junk)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    host = f"[{host}]" if ":" in host else host.rstrip(".")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _allowed_hosts() -> list[str]:
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]  # Django's own default under DEBUG
    return hosts


def _served_scheme(scope: dict, headers: dict[bytes, str]) -> str:
    """https when the socket is TLS, or a trusted proxy says so (SECURE_PROXY_SSL_HEADER)."""
    if scope.get("scheme") == "wss":
        return "https"
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, secure_value = proxy_header
        header = name.removeprefix("HTTP_").replace("_", "-").lower().encode()
        value = headers.get(header, "")
        if value.split(",", 1)[0].strip() == secure_value:
            return "https"
    return "http"


def _trusted(origin: Origin) -> bool:
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        pattern = entry.replace("://*.", "://wildcard.", 1)  # so urlsplit accepts it
        trusted = parse_origin(pattern)
        if trusted is None or trusted[0] != origin[0] or trusted[2] != origin[2]:
            continue
        if "://*." in entry:
            if is_same_domain(origin[1], "." + trusted[1].removeprefix("wildcard.")):
                return True
        elif trusted[1] == origin[1]:
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    """Whether a WebSocket handshake comes from a page of this site."""
    headers: dict[bytes, str] = {}
    origins = []
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == b"origin":
            origins.append(value.decode("latin1"))
        headers.setdefault(name, value.decode("latin1"))
    if len(origins) != 1:
        return False  # none (not a browser page) or ambiguous
    origin = parse_origin(origins[0])
    if origin is None:
        return False
    if _trusted(origin):
        return True
    scheme, host, port = origin
    if not validate_host(host, _allowed_hosts()):
        return False
    own_scheme = _served_scheme(scope, headers)
    host_header = headers.get(b"host")
    if host_header is None:
        # Only in-process clients (Channels' test communicator) send no Host: the page's
        # origin is then an allowed host on the scheme's default port.
        return scheme == own_scheme and port == DEFAULT_PORTS[scheme]
    own_host, own_port = split_domain_port(host_header)
    if not own_host:
        return False
    own = (own_scheme, own_host, int(own_port) if own_port else DEFAULT_PORTS[own_scheme])
    return origin == own


class ExactOriginValidator:
    """Refuses a WebSocket handshake (403) unless origin_allowed() says it is ours."""

    def __init__(self, application) -> None:
        self.application = application
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await self.denier(scope, receive, send)
        return await self.application(scope, receive, send)
