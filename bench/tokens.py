"""Token benchmark: one game day of 8 residents and scripted human chats, headless, with the
minds calling the counting fake OpenAI-compatible server (tests/fakes/openai_server.py).

Run: .venv/bin/python bench/tokens.py [--hours 24] [--residents 8] [--humans 2]

The pure engine runs in this process with the fixed step; every decision request is answered
at once by the real minds (model mode, default settings); chat and conversations are recorded
as the runner records them, so summaries and reflections run as in production. Prints model
calls and tokens per resident per game hour, by purpose. The fake counts tokens as
characters / 4, close to real tokenizers for English prose.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402

from agents import budget  # noqa: E402
from agents.mind import Mind  # noqa: E402
from agents.models import Memory, ModelCall  # noqa: E402
from agents.residents import load_town  # noqa: E402
from bench._scratch import use_scratch_database  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from town import persistence, selectors  # noqa: E402
from town import services as town_services  # noqa: E402
from town.engine import InputRefused, World  # noqa: E402
from town.models import Player  # noqa: E402
from town.runner import OBSERVED_KINDS  # noqa: E402

DB = "bench_minds_tokens"
STEP = 1000
SCRIPT = [
    "Hi! I'm {me}. I'm opening a bakery on Friday, by the plaza.",
    "Would you tell your friends? I'll have free scones on the first day.",
    "What have you been up to today?",
    "Do you know anyone who might want to work at the bakery?",
    "Thanks, that's helpful. See you around!",
]


class Human:
    """A visitor who, every game hour by day, walks up to a resident and chats a little."""

    def __init__(self, pid: str, name: str, offset: int) -> None:
        self.pid, self.name, self.offset = pid, name, offset
        self.conversation: str | None = None
        self.said = 0
        self.lines = 3

    def act(self, world: World, t: int, hour: int, residents: list[str], n: int) -> list[dict]:
        if self.conversation or not 8 <= hour <= 20 or (t // STEP + self.offset) % 60:
            return []
        target = residents[n % len(residents)]
        return [{"type": "invite", "actor": self.pid, "to": target}]

    def hear(self, event: dict, t: int) -> list[dict]:
        kind = event["kind"]
        conv = event.get("conversation")
        cid = conv["id"] if isinstance(conv, dict) else conv
        if kind == "conversation_invited" and self.pid in conv["participants"]:
            self.conversation, self.said = cid, 0
        if cid != self.conversation:
            return []
        if kind == "conversation_ended":
            self.conversation = None
            return []
        if kind == "conversation_started" or (kind == "message" and event["author"] != self.pid):
            if self.said >= self.lines:
                return [{"type": "leave_conversation", "actor": self.pid, "conversation": cid}]
            text = SCRIPT[self.said % len(SCRIPT)].format(me=self.name)
            self.said += 1
            return [{"type": "say", "actor": self.pid, "conversation": cid, "text": text}]
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--humans", type=int, default=2)
    args = parser.parse_args()

    use_scratch_database(DB)
    fake = FakeOpenAI().start()
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-bench"
    settings.MIND_DAILY_TOKENS = 0
    budget.reset()
    row = town_services.create_world("Tokenville")
    agents = list(Player.objects.filter(world=row, kind="agent").order_by("id"))
    Player.objects.filter(pk__in=[p.pk for p in agents[args.residents :]]).delete()
    agents = agents[: args.residents]
    meta = selectors.world_meta(row)
    world = World(meta.town_map, meta.config, seed=1)
    events: list[dict] = []
    for p in agents:
        events += world.apply(persistence.resident_join(meta, p), 0)
    humans = [
        Human(f"h{n + 1}", name, n * 30) for n, name in enumerate(["Ana", "Ben"][: args.humans])
    ]
    for h in humans:
        events += world.apply(
            {"type": "join", "actor": h.pid, "name": h.name, "character": "ada"}, 0
        )
    persistence.record(row.pk, [], events, 0)
    mind = Mind(load_town(row.pk))
    pids = [p.pid for p in agents]
    end = args.hours * 3_600_000 // int(meta.config.time_rate)
    started, decisions, invites = time.monotonic(), 0, 0
    for t in range(STEP, end + STEP, STEP):
        events = world.tick(t)
        hour = world.clock(t)["hour"]
        inputs = []
        for h in humans:
            acted = h.act(world, t, hour, pids, invites)
            invites += len(acted)
            inputs += acted
        for request in world.take_decision_requests():
            decisions += 1
            inputs += mind.decide(request)
        queue = list(inputs)
        while queue:
            inp = queue.pop(0)
            try:
                new = world.apply(inp, t)
            except InputRefused:
                continue
            events += new
            for event in new:
                for h in humans:
                    queue += h.hear(event, t)
        for event in events:
            if event["kind"] in ("conversation_started", "conversation_ended"):
                for h in humans:
                    queue += h.hear(event, t)
        for inp in queue:  # answers to the tick's own events
            with contextlib.suppress(InputRefused):
                events += world.apply(inp, t)
        for event in events:
            if event["kind"] == "message":
                author = world.players.get(event["author"])
                event["author_name"] = author.name if author else "someone"
        if events:
            persistence.record(row.pk, [], events, 0)
            observed = [e for e in events if e["kind"] in OBSERVED_KINDS]
            mind.observe(observed)
            if any(e["kind"] == "conversation_ended" for e in observed):
                for pid in pids:
                    mind.reflect_if_due(pid, t)
        if t % 60_000 == 0:
            print(
                f"  {world.clock(t)['label']}: {decisions} decisions, "
                f"{len(fake.requests)} model requests",
                end="\r",
                flush=True,
            )
    wall = time.monotonic() - started
    fake.stop()
    report(row, args, wall, decisions)


def report(row, args, wall: float, decisions: int) -> None:
    hours = args.hours
    resident_hours = args.residents * hours
    print(
        f"\n{args.residents} residents, {args.humans} scripted humans, {hours} game hours "
        f"({decisions} decisions, {wall:.0f} s wall)"
    )
    print(
        f"{'purpose':<10} {'calls':>7} {'tokens in':>10} {'tokens out':>10} "
        f"{'calls/res-h':>12} {'tokens/res-h':>13}"
    )
    rows = (
        ModelCall.objects.filter(world=row)
        .values("purpose")
        .annotate(n=Count("id"), tin=Sum("tokens_in"), tout=Sum("tokens_out"))
        .order_by("-tin")
    )
    total = defaultdict(int)
    for r in rows:
        tokens = r["tin"] + r["tout"]
        total["n"] += r["n"]
        total["tokens"] += tokens
        total["tin"] += r["tin"]
        total["tout"] += r["tout"]
        print(
            f"{r['purpose']:<10} {r['n']:>7} {r['tin']:>10} {r['tout']:>10} "
            f"{r['n'] / resident_hours:>12.2f} {tokens / resident_hours:>13.0f}"
        )
    print(
        f"{'total':<10} {total['n']:>7} {total['tin']:>10} {total['tout']:>10} "
        f"{total['n'] / resident_hours:>12.2f} {total['tokens'] / resident_hours:>13.0f}"
    )
    cost = ModelCall.objects.filter(world=row).aggregate(c=Sum("cost_usd"))["c"] or 0
    print(
        f"estimated cost at LLM_PRICE_IN/OUT={settings.LLM_PRICE_IN}/{settings.LLM_PRICE_OUT}"
        f" USD per M: ${cost:.4f} for the run, ${cost / resident_hours:.5f} per resident-hour"
    )
    kinds = Memory.objects.filter(agent__world=row).values("kind").annotate(n=Count("id"))
    print("memories written: " + ", ".join(f"{k['kind']} {k['n']}" for k in kinds))


if __name__ == "__main__":
    main()
