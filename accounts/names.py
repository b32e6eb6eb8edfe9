"""Which usernames a person may take.

A username is also the name others see in the town, so it follows the in-world name
rules of town/text.py (NFKC, nothing invisible or direction-changing, one alphabet, not
a label of the town's own) and may not read like a name already in use: another
person's, a resident's, or a system label.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from town.models import Player
from town.services import load_residents
from town.text import BadText, clean_name, name_key

# Labels the page and the staff use; town/engine/names.py reserves the in-world ones.
SYSTEM_LABELS = ("Town notice", "staff", "admin", "administrator", "system", "Hearthvale")


def normalise_username(username: str) -> str:
    """The username as it will be stored (NFKC), or ValidationError if it may not be one."""
    try:
        return clean_name(username)
    except BadText as exc:
        raise ValidationError(_("This username %(why)s.") % {"why": exc}, code="invalid") from None


def _resident_keys() -> set[str]:
    names = {r["name"] for r in load_residents()}
    names.update(Player.objects.filter(kind=Player.Kind.AGENT).values_list("name", flat=True))
    # Residents are called by their first name in conversation, so that is theirs too.
    names.update(n.split()[0] for n in list(names) if n.split())
    return {name_key(n) for n in names}


def refuse_lookalikes(username: str) -> None:
    """ValidationError when `username` reads like a system label, a resident or a user."""
    key = name_key(username)
    if key in {name_key(label) for label in SYSTEM_LABELS}:
        raise ValidationError(_("This username is reserved for the town."), code="reserved")
    if key in _resident_keys():
        raise ValidationError(
            _("This username reads like one of the town's residents."), code="resident"
        )
    # A scan of usernames, not an index: one query per sign-up, a few ms per 10k people.
    users = get_user_model().objects.values_list("username", flat=True)
    if any(name_key(other) == key for other in users.iterator()):
        raise ValidationError(
            _("This username reads like someone else's. Please choose another."),
            code="lookalike",
        )
