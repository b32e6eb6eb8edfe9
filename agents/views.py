"""The minds' HTTP endpoints, staff only: interview a resident from the character panel, read
what a resident thinks of the people it has talked with, and the bill (what the minds cost)."""

from __future__ import annotations

import json

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from agents import bill as bill_of
from agents import relationships as relationships_of
from agents import services
from town import selectors
from town.models import World

MAX_QUESTION = 500


@require_POST
def interview(request: HttpRequest, world_id: int, pid: str) -> JsonResponse:
    """POST {"question": "..."} → {"answer": "..."}; staff only."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"error": "staff only"}, status=403)
    world = get_object_or_404(World, pk=world_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "send JSON"}, status=400)
    question = body.get("question") if isinstance(body, dict) else None
    if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION:
        return JsonResponse({"error": f"question: 1–{MAX_QUESTION} characters"}, status=400)
    try:
        answer = services.interview(world, pid, question)
    except services.UnknownResident:
        return JsonResponse({"error": "no such resident"}, status=404)
    return JsonResponse({"answer": answer})


@require_GET
def relationships(request: HttpRequest, world_id: int, pid: str) -> JsonResponse:
    """GET → {"relationships": [{name, kind, opinion, last_summary, last_when, talks}]};
    staff only: the notes may hold what visitors told the resident."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"error": "staff only"}, status=403)
    world = get_object_or_404(World, pk=world_id)
    try:
        rows = relationships_of.of_world_resident(world.pk, pid)
    except services.UnknownResident:
        return JsonResponse({"error": "no such resident"}, status=404)
    return JsonResponse({"relationships": rows})


@never_cache
@require_GET
def bill(request: HttpRequest, world_id: int | None = None) -> HttpResponse:
    """The operator's bill for a world (the current one by default); staff only."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        return HttpResponse(render_to_string("403.html", request=request), status=403)
    world = selectors.world_or_current(world_id)
    if world is None:
        raise Http404("no such world")
    hours = bill_of.hourly(world.pk)
    purposes = bill_of.by_purpose(world.pk)
    residents = bill_of.by_resident(world.pk)
    total = bill_of.Spend()
    for hour in hours:
        total.add(hour)
    day = bill_of.today(world.pk)
    context = {
        "world": world,
        "worlds": World.objects.order_by("pk").only("pk", "name"),
        "today": day,
        "budget_width": round(480 * min(1.0, day["share"] or 0.0), 1),
        "allowed_x": round(480 * min(1.0, day["allowed_share"] or 0.0), 1),
        "hours": hours,
        "busy_hours": [h for h in reversed(hours) if h.calls],
        "total": total,
        "purposes": purposes,
        "residents": residents,
        "hourly_chart": bill_of.hourly_chart(hours, order=[p.name for p in purposes]),
        "resident_chart": bill_of.resident_chart(residents, hours),
        "prices": dict(zip(("prompt", "completion", "embedding"), bill_of.prices(), strict=True)),
    }
    return render(request, "agents/bill.html", context)
