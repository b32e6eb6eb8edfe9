"""`manage.py minds interview AGENT "question"` and `manage.py minds load-history FILE.csv`.

The same levers as `town interview` and `town load-history` (ops/services.py, audited).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from agents.services import UnknownResident
from ops import services
from town.models import World


class Command(BaseCommand):
    help = "Talk to the residents' minds: interview a resident, seed memories from a CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--world", type=int, help="world id (default: the current world)")
        sub = parser.add_subparsers(dest="action", required=True)
        ask = sub.add_parser("interview", help="ask a resident a question")
        ask.add_argument("agent", help="resident id or name")
        ask.add_argument("question")
        load = sub.add_parser("load-history", help="seed memories (name; memory; memory …)")
        load.add_argument("path")

    def handle(self, *args, action: str, world: int | None = None, **options) -> None:
        row = World.objects.filter(pk=world).first() if world else None
        row = row or (None if world else World.objects.filter(is_current=True).first())
        if row is None:
            raise CommandError("no such world (create one with `manage.py runtown` first)")
        if action == "interview":
            try:
                answer = services.interview_resident(row.pk, options["agent"], options["question"])
            except UnknownResident as exc:
                raise CommandError(f"no resident {exc} in {row.name}") from None
            self.stdout.write(answer)
        else:
            try:
                count = services.load_history(row.pk, options["path"])
            except OSError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Stored {count} memories in {row.name}.")
