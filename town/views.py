"""Thin views: the town page, JSON endpoints, the health check and the metrics."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from town import metrics, replay, selectors
from town.models import Conversation, Player, World


def town_config(request: HttpRequest, world: World | None) -> dict:
    """What the page's script needs to start (rendered with json_script, never inline JS)."""
    user = request.user
    here = request.get_full_path()
    config = {
        "world": None,
        "user": {"username": user.get_username(), "is_staff": user.is_staff}
        if user.is_authenticated
        else None,
        "login_url": f"{reverse('account_login')}?next={here}",
        "signup_url": f"{reverse('account_signup')}?next={here}",
        "characters": selectors.characters(),
        "sprite_url": "/static/sprites/{name}.png",
    }
    if world is not None:
        wid = world.pk
        config.update(
            world={"id": wid, "name": world.name},
            ws_url=f"/ws/world/{wid}/",
            map_url=reverse("world-map", args=[wid]),
            player_url=f"/api/worlds/{wid}/players/{{id}}/",
            messages_url=f"/api/worlds/{wid}/conversations/{{id}}/messages/",
            replay_url=reverse("world-replay", args=[wid]),
            announce_url=reverse("world-announce", args=[wid]),
        )
    return config


def home(request: HttpRequest) -> HttpResponse:
    """The town page: anyone can watch; signed-in people can join."""
    world = selectors.world_or_current(None)
    return render(request, "town/home.html", {"town_config": town_config(request, world)})


def world_page(request: HttpRequest, world_id: int) -> HttpResponse:
    """A given world's page (e.g. an archived one)."""
    world = get_object_or_404(World, pk=world_id)
    return render(request, "town/home.html", {"town_config": town_config(request, world)})


def world_map(request: HttpRequest, world_id: int) -> JsonResponse:
    """The world's Tiled map, with tileset images as static URLs."""
    world = get_object_or_404(World, pk=world_id)
    try:
        data = selectors.client_map(world.map_name)
    except FileNotFoundError:
        raise Http404("map not found") from None
    response = JsonResponse(data)
    response["Cache-Control"] = "public, max-age=300"
    return response


def player_detail(request: HttpRequest, world_id: int, pid: str) -> JsonResponse:
    """A character card's data."""
    try:
        return JsonResponse(selectors.player_detail(world_id, pid))
    except Player.DoesNotExist:
        raise Http404("no such character") from None


def conversation_messages(request: HttpRequest, world_id: int, cid: str) -> JsonResponse:
    """Older messages of a conversation, a page at a time (?before=<message id>)."""
    before = request.GET.get("before") or None
    try:
        return JsonResponse(selectors.conversation_messages(world_id, cid, before))
    except Conversation.DoesNotExist:
        raise Http404("no such conversation") from None


def world_history(request: HttpRequest, world_id: int) -> JsonResponse:
    """Replay data: the state at ?from=<world ms> and the events after it (up to ?to=)."""
    world = get_object_or_404(World, pk=world_id)
    try:
        start = int(request.GET.get("from", 0))
        end = int(request.GET["to"]) if request.GET.get("to") else None
    except ValueError:
        return JsonResponse({"error": "from and to are world times in ms"}, status=400)
    config = selectors.world_meta(world).config
    clock = {"time_rate": config.time_rate, "start_minute_of_day": config.start_minute_of_day}
    events_only = request.GET.get("events_only") == "1"
    return JsonResponse(replay.history(world_id, start, end, events_only=events_only, clock=clock))


def replay_page(request: HttpRequest, world_id: int) -> HttpResponse:
    """Watch a world's history from any moment at 1×–32×."""
    world = get_object_or_404(World, pk=world_id)
    config = town_config(request, world)
    config["history_url"] = reverse("world-history", args=[world_id])
    return render(request, "town/replay.html", {"town_config": config, "world": world})


def _channel_layer_status() -> str:
    """ "ok" / "memory" (one process, nothing to reach) / "error: …" for Redis."""
    if not settings.REDIS_URL:
        return "memory"
    import redis

    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
    try:
        _redis_client.ping()
    except Exception as exc:  # any Redis failure: the processes cannot talk to each other
        return f"error: {exc}"[:200]
    return "ok"


_redis_client = None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database + channel layer (Redis) check for load balancers and monitors.

    503 when the database or Redis does not answer; the body says which.
    """
    body = {"status": "ok", "database": "ok", "channel_layer": _channel_layer_status()}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means unhealthy
        body["database"] = f"error: {exc}"[:200]
    if body["database"] != "ok" or body["channel_layer"].startswith("error"):
        body["status"] = "error"
        return JsonResponse(body, status=503)
    return JsonResponse(body)


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if constant_time_compare(given, f"Bearer {token}"):
            return True
    elif (
        request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")
        and "X-Forwarded-For" not in request.headers
    ):
        return True  # no token configured: local scrapers only (a proxy adds X-Forwarded-For)
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: connections, engine steps, inputs, chat, tokens, jobs."""
    if not _metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    try:
        db = metrics.database_figures()
    except Exception:  # the database is away: report what the processes know
        db = None
    text = metrics.render(metrics.gather(), db)
    return HttpResponse(text, content_type=CONTENT_TYPE_PLAIN_0_0_4)
