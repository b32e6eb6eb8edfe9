"""The minds' HTTP endpoints, staff only: interview a resident from the character panel, and
read what a resident thinks of the people it has talked with."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from agents import relationships as relationships_of
from agents import services
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
