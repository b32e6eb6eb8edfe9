"""Staff-only HTTP levers of the town page that span apps (the same services as the commands)."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from ops import services
from town.models import World
from town.services import WrongState


@require_POST
def announce(request: HttpRequest, world_id: int) -> JsonResponse:
    """POST {"text": "..."}: a town notice from a staff member."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return JsonResponse({"error": "only staff can make announcements"}, status=403)
    world = get_object_or_404(World, pk=world_id)
    try:
        text = json.loads(request.body or b"{}").get("text", "")
    except (ValueError, AttributeError):
        return JsonResponse({"error": 'send JSON {"text": "..."}'}, status=400)
    if not isinstance(text, str):
        return JsonResponse({"error": "text must be a string"}, status=400)
    try:
        heard = services.announce(world.pk, text, actor=request.user)
    except WrongState as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"residents": heard})
