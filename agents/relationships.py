"""What each resident thinks of the people it has talked with.

After every conversation each resident's note on each other participant is renewed: with the
model from the summary call's `views` (no extra call), offline from a template of what
happened (how often we talked, where, what they spoke of). The notes go into reply prompts
(one line per person), weigh whom a resident walks up to, and staff see them on the card.
"""

from __future__ import annotations

import re
from collections import Counter

from agents.models import Relationship
from town.models import Player

# Words too common to tell what someone spoke of (English and Spanish).
_STOP_WORDS = """about above after again also always another around because been before being below
    between both could didn doing does during each every first from going have having here
    into just know like little maybe more most much must never only other over really right
    should some something still such than that their them then there these they thing think
    this those though through today tomorrow very want were what when where which while would
    your yours hello thanks thank sure great good nice well okay going gonna
    ahora algo algún alguna antes aquí bien cada como cómo con cuando donde dónde este esta
    esto estos están estoy gracias hola hasta mucho muchas muy nada para pero porque puede
    quiero sobre también tengo tiene todo todos usted vamos"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[^\W\d_]{5,}", re.UNICODE)

TEMPLATES = {
    "en": {
        "first": "We first met on {when}.",
        "again": "We have talked {n} times, most recently on {when}.",
        "about": " They spoke of {topics}.",
        "quiet": " They listened more than they talked.",
    },
    "es": {
        "first": "Nos conocimos el {when}.",
        "again": "Hemos hablado {n} veces, la última el {when}.",
        "about": " Habló de {topics}.",
        "quiet": " Escuchó más de lo que habló.",
    },
}


def topics(lines: list[str], names: list[str], n: int = 3) -> list[str]:
    """The words someone used most (long words, no stop words or names): what they spoke of."""
    skip = {w.lower() for name in names for w in name.split()}
    counts = Counter(
        w.lower()
        for line in lines
        for w in _WORD.findall(line)
        if w.lower() not in _STOP and w.lower() not in skip
    )
    return [w for w, _ in counts.most_common(n)]


def offline_opinion(
    talks: int, when: str, their_lines: list[str], names: list[str], language: str
) -> str:
    """A note from what happened: how often we talked, and what they spoke of."""
    words = TEMPLATES.get(language, TEMPLATES["en"])
    note = words["first"] if talks <= 1 else words["again"]
    note = note.format(n=talks, when=when)
    found = topics(their_lines, names)
    if found:
        note += words["about"].format(topics=", ".join(found))
    elif not their_lines:
        note += words["quiet"]
    return note[:300]


def named(name: str, wanted: str) -> bool:
    """Whether `wanted` (as a model wrote it) names the person called `name`."""
    wanted, name = " ".join(wanted.split()).casefold(), name.strip().casefold()
    if not wanted or not name:
        return False
    first = name.split(" ")[0]
    # "Bram", "Bram Stone" and "Bram S." all name Bram Stone.
    return wanted == name or wanted.split(" ")[0] == first


def record(
    *,
    agent_pk: int,
    other: Player,
    opinion: str,
    last_summary: str,
    t: int,
    conversation_id: int | None,
    author_user_id: int | None,
) -> Relationship:
    """Renew what `agent_pk` thinks of `other` after a conversation."""
    row, _ = Relationship.objects.get_or_create(
        agent_id=agent_pk, other=other, defaults={"opinion": opinion[:300]}
    )
    row.opinion = opinion[:300]
    row.last_summary = last_summary[:600]
    row.last_t = t
    row.talks += 1
    row.conversation_id = conversation_id
    # Once a note has drawn on a person's words it stays marked as theirs, until forgotten.
    row.author_user_id = author_user_id or row.author_user_id
    row.save()
    return row


def known(agent_pk: int, pids: list[str]) -> dict[str, Relationship]:
    """The relationships of a resident with these players, by pid."""
    if not pids:
        return {}
    rows = Relationship.objects.filter(agent_id=agent_pk, other__pid__in=pids).select_related(
        "other"
    )
    return {r.other.pid: r for r in rows}


def people(agent_pk: int, others: list[dict], when) -> list[dict]:
    """Prompt lines' data on each other participant: who they are to me, our last talk."""
    rows = known(agent_pk, [o["id"] for o in others])
    out = []
    for other in others:
        row = rows.get(other["id"])
        person = {"id": other["id"], "name": other["name"], "kind": other.get("kind")}
        if row is not None:
            person.update(
                opinion=row.opinion,
                last_summary=row.last_summary,
                last_when=when(row.last_t),
                human_words=row.author_user_id is not None,
            )
        out.append(person)
    return out


def of_resident(player: Player, when) -> list[dict]:
    """What a resident thinks of everyone it has talked with, closest first (for staff)."""
    rows = (
        Relationship.objects.filter(agent=player)
        .select_related("other")
        .order_by("-talks", "-last_t")[:50]
    )
    return [
        {
            "id": r.other.pid,
            "name": r.other.name,
            "kind": r.other.kind,
            "opinion": r.opinion,
            "last_summary": r.last_summary,
            "last_when": when(r.last_t),
            "talks": r.talks,
        }
        for r in rows
    ]


def of_world_resident(world_id: int, who: str) -> list[dict]:
    """A resident's relationships by pid or name, for staff (raises UnknownResident)."""
    from agents.residents import load_town
    from agents.services import find_resident
    from town.models import World

    player = find_resident(World.objects.get(pk=world_id), who)
    return of_resident(player, load_town(world_id).when)
