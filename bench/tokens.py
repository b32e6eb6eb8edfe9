"""Token benchmark: what a model-driven town costs per resident per REAL hour, with and
without the savings of issue #17 (caches, resident-only conversations in one call).

Run: .venv/bin/python bench/tokens.py [--minutes 20 | --full] [--residents 10] [--humans 2]
     [--price-in 0.15 --price-out 0.60 --price-embed 0.02] [--no-baseline]

At the default time rate one game hour passes in one real minute, so a real hour is 60 game
hours. The pure engine runs in this process with the fixed 1 s step, faster than real time;
every decision request is answered at once by the real minds (model mode) against the
counting fake OpenAI-compatible server (tests/fakes/openai_server.py); tokens are counted as
characters / 4 (the client's estimate when a provider sends no usage figures, close to real
tokenizers for English prose, and the issue's measure; --tokens words: the fake's 3 per word
+ 7, about twice as many); conversations are recorded as the runner
records them, so summaries and reflections run as in production. Two scripted visitors walk
up to a resident every game hour by day (08-20) and chat a few lines, on and off.

The same scenario runs twice in one scratch database: first the baseline (embedding and chat
caches off, every line of every conversation its own call: MIND_EMBED_CACHE=False,
MIND_CHAT_CACHE_SECONDS=0, MIND_SCRIPTED_CONVERSATIONS=False), then today's defaults. For
each it prints tokens per resident per real hour (the mean, the mean after the first ten
minutes — steady state — and the busiest ten real minutes), calls and tokens per purpose,
cache hit rates, the dollar cost at the given prices, how the spend splits between
conversations with people and the rest, and whether a town of that size watched all day fits
the default daily budget without the offline fall-back for people.

--day (with --full): a whole real day compressed into the run, to check that fit for real.
The world's budget is the default scaled to the run (MIND_DAILY_TOKENS x minutes / 1440), its
count starts with the run, and the residents' pace (`budget.day_fraction`) follows the
simulated time, so each simulated real minute stands for 24. It runs twice: unpaced
(MIND_BUDGET_PACED=False: residents may use their whole share at once) and paced (the
default), and prints how many of people's replies met the offline fall-back and how many
conversations among residents had the model.
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
from django.db.models import Count, Max, Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from agents import budget, llm  # noqa: E402
from agents.mind import Mind  # noqa: E402
from agents.models import ConversationMind, ModelCall  # noqa: E402
from agents.residents import load_town  # noqa: E402
from bench._scratch import drop_scratch_database, use_scratch_database  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from town import persistence, selectors  # noqa: E402
from town import services as town_services  # noqa: E402
from town.engine import InputRefused, World  # noqa: E402
from town.models import Player  # noqa: E402
from town.runner import OBSERVED_KINDS  # noqa: E402

DB = "bench_minds_tokens"
DAY_FRACTION = budget.day_fraction  # the real clock's, put back after a --day run
MINUTE = 60_000  # world ms in a real minute at the default rate (one game hour)
BASELINE = {
    "MIND_EMBED_CACHE": False,
    "MIND_CHAT_CACHE_SECONDS": 0,
    "MIND_SCRIPTED_CONVERSATIONS": False,
}
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
    parser.add_argument("--minutes", type=int, default=20, help="real minutes (game hours)")
    parser.add_argument("--full", action="store_true", help="a whole real hour (60 minutes)")
    parser.add_argument("--residents", type=int, default=10)
    parser.add_argument("--humans", type=int, default=2)
    parser.add_argument("--price-in", type=float, default=0.15, help="USD per 1M prompt tokens")
    parser.add_argument("--price-out", type=float, default=0.60, help="USD per 1M completion")
    parser.add_argument("--price-embed", type=float, default=0.02, help="USD per 1M embedded")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=1, help="the engine's seed (1 in the docs)")
    parser.add_argument(
        "--day",
        action="store_true",
        help="a whole day under the default budget, compressed into the run (unpaced, paced)",
    )
    parser.add_argument(
        "--show-prompts",
        action="store_true",
        help="print the median-length prompt of each kind of chat request (the last run's)",
    )
    parser.add_argument(
        "--tokens",
        choices=["chars", "words"],
        default="chars",
        help="count tokens as characters / 4 (default) or as the fake's 3 per word + 7",
    )
    args = parser.parse_args()
    if args.full:
        args.minutes = 60

    # Runs of other kinds or seeds can go alongside each other.
    db = f"{DB}_day" if args.day else DB
    db += f"_{args.seed}" if args.seed != 1 else ""
    use_scratch_database(db)
    fake = FakeOpenAI().start()
    # No usage figures from the fake: the client's own estimate (characters / 4) is recorded,
    # the measure the figures used (the fake's "3 per word + 7" exists to test that
    # the provider's figures win, and counts about twice as many).
    fake.usage = "omit" if args.tokens == "chars" else "words"
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-bench"
    default_budget = settings.MIND_DAILY_TOKENS
    settings.MIND_DAILY_TOKENS = 0  # measured without a limit; the fit is worked out below
    results = []
    try:
        runs = [("baseline", BASELINE), ("now", {})]
        if args.no_baseline:
            runs = runs[1:]
        if args.day:
            runs = [("unpaced", {"MIND_BUDGET_PACED": False}), ("paced", {})]
        for name, overrides in runs:
            saved = {k: getattr(settings, k, None) for k in {**BASELINE, **overrides}}
            for key, value in overrides.items():
                setattr(settings, key, value)
            try:
                results.append(run(name, args, fake, default_budget if args.day else 0))
            finally:
                budget.day_fraction = DAY_FRACTION  # a --day run follows its own clock
                for key, value in saved.items():
                    if value is None:
                        with contextlib.suppress(AttributeError):
                            delattr(settings, key)
                    else:
                        setattr(settings, key, value)
    finally:
        fake.stop()
    for result in results:
        report(result, args, default_budget)
    if args.show_prompts:
        show_prompts(fake.requests)
    if len(results) == 2 and not args.day:
        base, now = (r["steady"] for r in results)
        print(
            f"\nsteady tokens per resident per real hour: baseline {base:,.0f}, now {now:,.0f}"
            f" (now/baseline {now / base:.2f}; target <= 20,000)"
        )
    drop_scratch_database(db)


def run(name: str, args, fake, day_budget: int = 0) -> dict:
    """One scenario in a world of its own: figures per real minute and the tallies.

    With `day_budget`, the run is a whole day: the world's budget is `day_budget` scaled to
    the run, and the residents' pace follows the simulated time.
    """
    budget.reset()
    llm.stats.clear()
    row = town_services.create_world(f"Tokenville {name}")
    end = args.minutes * MINUTE
    clock = [0]  # world ms gone by
    limit = day_budget * args.minutes // (24 * 60)  # the day's budget scaled to the run
    if day_budget:
        row.settings = {**row.settings, "daily_tokens": limit}
        row.settings["budget_reset_at"] = timezone.now().isoformat()
        row.save(update_fields=["settings"])
        lead = budget.PACE_LEAD.total_seconds() / 86_400
        budget.day_fraction = lambda world_id, now=None: min(1.0, clock[0] / end + lead)
        budget.forget(row.pk)
    agents = list(Player.objects.filter(world=row, kind="agent").order_by("id"))
    Player.objects.filter(pk__in=[p.pk for p in agents[args.residents :]]).delete()
    agents = agents[: args.residents]
    meta = selectors.world_meta(row)
    world = World(meta.town_map, meta.config, seed=args.seed)
    events: list[dict] = []
    for p in agents:
        events += world.apply(persistence.resident_join(meta, p), 0)
    humans = [
        Human(f"h{n + 1}", name, n * 30) for n, name in enumerate(["Ana", "Ben"][: args.humans])
    ]
    human_ids = {h.pid for h in humans}
    for h in humans:
        events += world.apply(
            {"type": "join", "actor": h.pid, "name": h.name, "character": "ada"}, 0
        )
    persistence.record(row.pk, [], events, 0)
    mind = Mind(load_town(row.pk))
    pids = [p.pid for p in agents]
    started, decisions, invites = time.monotonic(), 0, 0
    modes: dict[str, tuple[bool, str]] = {}  # conversation -> (with people, its mind mode)
    per_minute: list[int] = []  # tokens spent in each real minute
    people = defaultdict(int)  # tokens for conversations with a person / everything else
    last_total = 0

    def spent() -> tuple[int, int]:
        last = ModelCall.objects.filter(world=row).aggregate(last=Max("id"))["last"]
        return spent_total(row), last or 0

    def attribute(before: int, with_people: bool) -> None:
        got = ModelCall.objects.filter(world=row, id__gt=before).aggregate(
            n=Sum("tokens_in"), o=Sum("tokens_out")
        )
        people[with_people] += (got["n"] or 0) + (got["o"] or 0)

    for t in range(STEP, end + STEP, STEP):
        clock[0] = t
        events = world.tick(t)
        hour = world.clock(t)["hour"]
        inputs = []
        for h in humans:
            acted = h.act(world, t, hour, pids, invites)
            invites += len(acted)
            inputs += acted
        for request in world.take_decision_requests():
            decisions += 1
            before = spent()[1]
            context = request.get("context") or {}
            with_people = any(o.get("kind") == "human" for o in context.get("others") or [])
            inputs += mind.decide(request)
            attribute(before, with_people)
            cid = context.get("conversation")
            if request["kind"] == "reply" and cid and cid not in modes:
                got = ConversationMind.objects.filter(world=row, cid=cid).first()
                if got is not None:  # its mode, fixed by its first reply
                    modes[cid] = (with_people, got.mode)
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
            ended = [e for e in observed if e["kind"] == "conversation_ended"]
            before = spent()[1]
            mind.observe(observed)
            if ended:
                for pid in pids:
                    mind.reflect_if_due(pid, t)
            with_people = any(
                set(_participants(e)) & human_ids for e in ended
            )  # a summary for a person's conversation
            attribute(before, with_people)
        if t % MINUTE == 0:
            total = spent()[0]
            per_minute.append(total - last_total)
            last_total = total
            print(
                f"  {name}: {world.clock(t)['label']}: {decisions} decisions, "
                f"{len(fake.requests)} model requests",
                end="\r",
                flush=True,
            )
    return {
        "name": name,
        "row": row,
        "wall": time.monotonic() - started,
        "decisions": decisions,
        "per_minute": per_minute,
        "people": dict(people),
        "modes": list(modes.values()),
        "limit": limit,
        "stats": dict(llm.stats),
        "steady": _rate(per_minute[10:] or per_minute, args.residents),
    }


def show_prompts(requests: list[dict]) -> None:
    """The median-length prompt of each schema asked for, with its size (characters / 4)."""
    by_schema: dict[str, list[list[dict]]] = defaultdict(list)
    for r in requests:
        if "chat" in r.get("path", ""):
            fmt = (r.get("response_format") or {}).get("json_schema") or {}
            by_schema[fmt.get("name", "text")].append(r.get("messages") or [])
    for schema, prompts in sorted(by_schema.items()):
        sized = sorted(prompts, key=lambda m: sum(len(str(x.get("content", ""))) for x in m))
        median = sized[len(sized) // 2]
        size = sum(len(str(x.get("content", ""))) for x in median) // 4
        print(f"\n== median {schema} prompt ({len(prompts)} requests, ~{size} tokens in)")
        for message in median:
            print(f"[{message.get('role')}]\n{message.get('content')}")


def spent_total(row) -> int:
    got = ModelCall.objects.filter(world=row).aggregate(n=Sum("tokens_in"), o=Sum("tokens_out"))
    return (got["n"] or 0) + (got["o"] or 0)


def _participants(event: dict) -> list[str]:
    conv = event.get("conversation")
    return event.get("participants") or (
        conv.get("participants", []) if isinstance(conv, dict) else []
    )


def _rate(minutes: list[int], residents: int) -> float:
    """Tokens per resident per real hour over these real minutes."""
    return sum(minutes) * 60 / max(1, len(minutes)) / residents


def report(result: dict, args, default_budget: int) -> None:
    row, per_minute, residents = result["row"], result["per_minute"], args.residents
    minutes = len(per_minute)
    print(
        f"\n== {result['name']}: {residents} residents, {args.humans} scripted visitors, "
        f"{minutes} real minutes = {minutes} game hours ({result['decisions']} decisions, "
        f"{result['wall']:.0f} s wall)"
    )
    window = min(10, max(1, minutes))
    starts = range(max(1, minutes - window + 1))
    best = max((sum(per_minute[i : i + window]) for i in starts), default=0)
    busiest = best * (60 / window) / residents  # the busiest ten minutes, per hour
    mean, steady = _rate(per_minute, residents), result["steady"]
    print(
        f"tokens per resident per real hour: mean {mean:,.0f}, steady (after minute 10) "
        f"{steady:,.0f}, busiest ten minutes {busiest:,.0f}"
    )
    print(f"{'purpose':<10} {'calls':>7} {'tokens in':>10} {'tokens out':>10} {'tok/res/h':>10}")
    rows = (
        ModelCall.objects.filter(world=row)
        .values("purpose")
        .annotate(n=Count("id"), tin=Sum("tokens_in"), tout=Sum("tokens_out"))
        .order_by("-tin")
    )
    cost = 0.0
    for r in rows:
        share = (r["tin"] + r["tout"]) * 60 / max(1, minutes) / residents
        print(f"{r['purpose']:<10} {r['n']:>7} {r['tin']:>10} {r['tout']:>10} {share:>10,.0f}")
        if r["purpose"] == "embed":
            cost += r["tin"] * args.price_embed / 1e6
        else:
            cost += (r["tin"] * args.price_in + r["tout"] * args.price_out) / 1e6
    stats = result["stats"]
    for kind in ("embed", "chat"):
        hit, miss = stats.get(f"{kind}_hit", 0), stats.get(f"{kind}_miss", 0)
        rate = f"{hit / (hit + miss):.0%}" if hit + miss else "-"
        print(f"{kind} cache: {hit} hits, {miss} misses ({rate})")
    hours = minutes / 60
    print(
        f"cost at ${args.price_in}/{args.price_out} per 1M in/out (embeddings "
        f"${args.price_embed}): ${cost:.4f} for the run, ${cost / hours:.3f} per real hour, "
        f"${cost / hours / residents:.4f} per resident per real hour"
    )
    people = result["people"]
    with_people, rest = people.get(True, 0), people.get(False, 0)
    print(f"conversations with people: {with_people:,} tokens; everything else: {rest:,}")
    for people_in, label in ((True, "with people"), (False, "among residents")):
        got = [mode for p, mode in result["modes"] if p == people_in]
        print(
            f"conversations {label}: {len(got)}, {got.count('llm')} with the model, "
            f"{got.count('offline')} offline"
        )
    if result["limit"]:
        total = spent_total(row)
        print(
            f"a whole day compressed into the run: budget {result['limit']:,} "
            f"(the default {default_budget:,} x {minutes} / 1440), spent {total:,} "
            f"({total / result['limit']:.0%}); people's conversations offline: "
            f"{sum(1 for p, mode in result['modes'] if p and mode == 'offline')}"
        )
        return
    if default_budget and not getattr(settings, "MIND_BUDGET_PACED", True):
        per_hour = steady * residents
        day = per_hour * 24
        share = budget.people_share()
        embed = ModelCall.objects.filter(world=row, purpose="embed").aggregate(n=Sum("tokens_in"))
        # Past the share: people's conversations and every embedding keep the model.
        people_hour = (with_people + (embed["n"] or 0)) * 60 / max(1, minutes)
        to_share = share * default_budget / per_hour if per_hour else float("inf")
        left = (1 - share) * default_budget
        after = left / people_hour if people_hour else float("inf")
        print(
            f"watched all day by {args.humans} visitors: {day:,.0f} tokens a day against "
            f"{default_budget:,}: "
            + (
                "fits the budget with no fall-back at all"
                if day <= share * default_budget
                else f"{share:.0%} spent after {to_share:.1f} h, then residents talk among "
                f"themselves offline; people's conversations and embeddings "
                f"({people_hour:,.0f} tokens/h) last {after:.1f} h more, so people "
                + (
                    "keep the model all day"
                    if to_share + after >= 24
                    else f"fall back to offline after {to_share + after:.1f} h"
                )
            )
        )
    elif default_budget:
        day = steady * residents * 24
        print(
            f"watched all day by {args.humans} visitors: {day:,.0f} tokens a day at this rate "
            f"against {default_budget:,}; the residents' share is paced over the day "
            f"(MIND_BUDGET_PACED): run --day to see whether people keep the model all day"
        )


if __name__ == "__main__":
    main()
