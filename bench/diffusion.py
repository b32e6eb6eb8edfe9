"""Information diffusion benchmark: how far one visitor's fact spreads in two game days.

Run: .venv/bin/python bench/diffusion.py [--mind offline|model|both] [--days 2]
     [--resident ada] [--seed 0]

As in the paper's diffusion study (Park et al. 2023, §7.1.2: Sam's candidacy went from 1
agent (4%) to 8 (32%) in two game days, Isabella's party from 1 (4%) to 13 (52%)), a fact
is planted with one resident and the town runs on its own: a scripted visitor ("Mara")
greets Ada, says "I keep bees up on the hill" and leaves; then the world runs headless with
the real minds (agents/mind.py answering every decision, conversations remembered as the
worker does) for `--days` game days. It reports, after each game day, the share of
residents who *said* the fact in a conversation and who *know* it (a memory of it).

`--mind offline`: the no-key default (rule-based facts, topics.py's choice of news).
`--mind model`: the fake OpenAI-compatible server (tests/fakes/openai_server.py) scripted to
repeat whatever facts its prompt holds: a reply passes on the prompt's news line, a summary
keeps the facts the conversation's lines carried, importance 5 (the issue's setting); a
resident-only conversation's script (one call, agents/scripts.py) has each resident pass on
the news line of its block, and its summary keeps what was passed on.

Unless DATABASE_URL is set it runs its own embedded PostgreSQL in /tmp/town-bench-diffusion
(TOWN_PGDATA overrides) and a scratch database, so no other database is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("TOWN_PGDATA", "/tmp/town-bench-diffusion")
os.environ.setdefault("LLM_API_KEY", "")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402

from agents import budget  # noqa: E402
from agents.mind import Mind  # noqa: E402
from agents.models import Memory  # noqa: E402
from agents.residents import load_town  # noqa: E402
from bench._scratch import drop_scratch_database, use_scratch_database  # noqa: E402
from town import persistence, services  # noqa: E402
from town.engine import InputRefused  # noqa: E402
from town.models import Message, Player  # noqa: E402

DB = "bench_diffusion"
FACT_LINES = ["Hello! I'm Mara.", "I keep bees up on the hill", "Lovely to meet you. Bye!"]
KEYWORD = "bees up on the hill"  # not just "bees": Edith keeps bees herself
PAPER = {"Sam's candidacy": (4, 32), "Isabella's party": (4, 52)}


def plant(world, mind: Mind, resident: str, t: int) -> int:
    """The scripted visitor's conversation with `resident`; returns when it ended."""
    user = User.objects.create_user("mara", "mara@example.com", "pw-for-bench-1")
    mara = Player.objects.create(
        world=world, pid=f"h{user.pk}", kind="human", name="Mara", character="ada", user=user
    )
    mind.observe([{"kind": "player_joined", "t": t, "player": {"id": mara.pid, "name": "Mara"}}])
    agent = Player.objects.get(world=world, pid=resident)
    cid, messages, events, accepted = "planted", [], [], []
    conv = {"id": cid, "participants": [mara.pid, agent.pid], "status": "active"}
    events += [
        {"kind": "conversation_invited", "t": t, "conversation": conv},
        {"kind": "conversation_started", "t": t, "conversation": conv},
    ]
    for n, line in enumerate(FACT_LINES):
        t += 1000
        messages.append({"author": mara.pid, "name": "Mara", "text": line})
        request = {
            "id": f"plant{n}",
            "agent": agent.pid,
            "kind": "reply",
            "t": t,
            "conversation": cid,
            "context": {
                "clock": mind.town.clock(t),
                "name": agent.name,
                "x": 10,
                "y": 10,
                "activity": "",
                "area": "cafe",
                "conversation": cid,
                "others": [{"id": mara.pid, "name": "Mara", "kind": "human"}],
                "messages": list(messages),
                "message_count": len(messages),
            },
        }
        said = [i for i in mind.decide(request) if i["type"] == "say"]
        for who, text in [(mara, line)] + [(agent, s["text"]) for s in said]:
            events.append(
                {"kind": "message", "t": t, "conversation": cid, "author": who.pid,
                 "author_name": who.name, "text": text, "id": f"{cid}{len(events)}"}
            )  # fmt: skip
            accepted.append(
                {"input": {"type": "say", "actor": who.pid}, "t": t, "user_id": who.user_id}
            )
        messages += [{"author": agent.pid, "name": agent.name, "text": s["text"]} for s in said]
    t += 1000
    events.append({"kind": "conversation_ended", "t": t, "conversation": cid, "reason": "left"})
    persistence.record(world.pk, accepted, events, 0)
    mind.observe([events[-1]])
    return t


def run(
    world, loaded, mind: Mind, start_t: int, days: int, step_ms: int, every: int = 24
) -> list[dict]:
    """Run the world with the real minds; the spread of the fact after each game day."""
    engine, last_input = loaded.world, loaded.last_input
    for inp in loaded.pending_joins:
        engine.apply(inp, engine.now)
    day_ms = mind.town.game_day_ms()
    now = max(engine.now, start_t)
    hour_ms = day_ms // 24
    checkpoints = [start_t + h * hour_ms for h in range(every, days * 24 + 1, every)]
    started = time.monotonic()
    report = [spread(world, mind, 0, now)]
    accepted: list[dict] = []
    events: list[dict] = []
    while checkpoints:
        now += step_ms
        events.extend(engine.tick(now))
        for request in engine.take_decision_requests():
            for n, inp in enumerate(mind.decide(request)):
                inp["key"] = f"mind:{request['id']}:{n}"
                try:
                    events.extend(engine.apply(inp, now))
                    accepted.append({"input": inp, "t": now})
                except InputRefused:
                    pass
            mind.reflect_if_due(request["agent"], now)
        ended = [e for e in events if e["kind"] == "conversation_ended"]
        if ended or len(events) > 500:
            for event in events:
                if event["kind"] == "message" and "author_name" not in event:
                    author = engine.players.get(event["author"])
                    event["author_name"] = author.name if author else "someone"
            last_input = persistence.record(world.pk, accepted, events, last_input)
            accepted, events = [], []
            mind.observe(ended)
        if now >= checkpoints[0]:
            checkpoints.pop(0)
            report.append(spread(world, mind, len(report) * every, now))
            report[-1]["wall_s"] = round(time.monotonic() - started)
    return report


def spread(world, mind: Mind, hours: int, t: int) -> dict:
    """Who has said the fact in a conversation, and who holds a memory of it."""
    residents = mind.town.residents
    said = set(
        Message.objects.filter(
            world=world, author__in=list(residents), text__icontains=KEYWORD
        ).values_list("author", flat=True)
    )
    know = {
        pid
        for pid, r in residents.items()
        if Memory.objects.filter(agent_id=r["pk"], text__icontains=KEYWORD).exists()
    }
    lines = (
        Message.objects.filter(world=world, author__in=list(residents), text__icontains=KEYWORD)
        .order_by("id")
        .values_list("author", "text", "conversation__cid", "conversation__participants")
    )
    return {
        "hours": hours,
        "t": t,
        "residents": len(residents),
        "said": sorted(said),
        "know": sorted(know),
        "samples": [f"{a} in {c} {p}: {x}" for a, x, c, p in lines],
    }


def fake_model():
    """The fake provider, scripted to repeat the facts its prompts hold."""
    from tests.fakes.openai_server import FakeOpenAI

    fake = FakeOpenAI().start()

    def clause(text: str) -> str | None:
        """The words around the fact in a prompt line, without tags or framing."""
        text = re.sub(r"<[^>]+>", "", text)
        found = re.search(r"([^.:!?“”]*" + re.escape(KEYWORD) + r")", text)
        return found.group(1).strip() if found else None

    def reply(body: dict) -> str:
        prompt = str(body["messages"][-1].get("content", ""))
        news = re.search(r"News you could pass on: (.+)", prompt)
        said = clause(news.group(1)) if news else None
        if said:
            return json.dumps({"text": f"Did you know? {said}.", "end": False})
        return json.dumps({"text": "Nice to see you. How is your day going?", "end": False})

    def summary(body: dict) -> str:
        prompt = str(body["messages"][-1].get("content", ""))
        said = [c for c in map(clause, prompt.splitlines()) if c]
        text = f"{said[0]}." if said else "They talked for a while."
        return json.dumps({"summary": text, "importance": 5})

    def script(body: dict) -> str:
        """A whole resident-only conversation: each passes on the news its block holds."""
        from tests.fakes.openai_server import speakers_in

        prompt = str(body["messages"][-1].get("content", ""))
        names = speakers_in(prompt)
        news = {
            who: clause(text)
            for who, text in re.findall(r"^- news (.+?) could pass on: (.+)$", prompt, re.M)
        }
        plain = [
            "Nice to see you. How is your day going?",
            "Fine, thanks.",
            "Good to hear.",
            "Bye!",
        ]
        lines, told = [], []
        for n in range(4):
            who = names[n % len(names)]
            said = news.get(who) if n < 2 else None
            if said:
                told.append(said)
            text = f"Did you know? {said}." if said else plain[n]
            lines.append({"speaker": who, "text": text})
        summary = f"{told[0]}." if told else "They talked for a while."
        return json.dumps({"lines": lines, "summary": summary, "importance": 5})

    fake.script("Reply", reply)
    fake.script("Summary", summary)
    fake.script("Script", script)
    settings.LLM_BASE_URL, settings.LLM_API_KEY = fake.url, "sk-bench"
    settings.LLM_TIMEOUT, settings.LLM_MAX_RETRIES = 5.0, 1
    budget.reset()
    return fake


def one(mind_kind: str, days: int, resident: str, every: int, seed: int) -> list[dict]:
    use_scratch_database(DB)
    fake = fake_model() if mind_kind == "model" else None
    try:
        world = services.create_world("Diffusion", seed=seed)
        mind = Mind(load_town(world.pk))
        # The engine's world first: the planted conversation's inputs are not its own.
        loaded = persistence.load_world(world.pk)
        t = plant(world, mind, resident, 60_000)  # 08:00 on day 1
        return run(world, loaded, mind, t, days, persistence.STEP_MS, every)
    finally:
        if fake is not None:
            fake.stop()
            settings.LLM_BASE_URL, settings.LLM_API_KEY = "", ""
            budget.reset()
        drop_scratch_database(DB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mind", choices=["offline", "model", "both"], default="offline")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--resident", default="ada")
    parser.add_argument(
        "--big", action="store_true", help="plant big news instead (a bakery opening, rated 8)"
    )
    parser.add_argument("--runs", type=int, default=1, help="worlds (seeds 0..N-1) per mind")
    parser.add_argument("--trace", action="store_true", help="every line that said it")
    parser.add_argument("--every", type=int, default=6, help="game hours between reports")
    args = parser.parse_args()
    kinds = ["offline", "model"] if args.mind == "both" else [args.mind]
    global KEYWORD
    if args.big:
        FACT_LINES[1], KEYWORD = "I'm opening a bakery on Friday!", "bakery on Friday"
    print(f"planted with {args.resident}: Mara said {FACT_LINES[1]!r}")
    print("paper:", ", ".join(f"{k} {a}% -> {b}%" for k, (a, b) in PAPER.items()))
    for kind in kinds:
        reports = [one(kind, args.days, args.resident, args.every, n) for n in range(args.runs)]
        n = reports[0][0]["residents"]
        print(f"\n{kind} mind ({n} residents, {args.runs} world seeds)")
        print("game hours | said it (mean, per seed) | knows it (mean, per seed) | wall s")
        for i, row in enumerate(reports[0]):
            said = [len(r[i]["said"]) for r in reports]
            know = [len(r[i]["know"]) for r in reports]
            mean_said = 100 * sum(said) / len(said) / n
            mean_know = 100 * sum(know) / len(know) / n
            print(
                f"{row['hours']:>10} | {mean_said:5.0f}% {said} | {mean_know:5.0f}% {know} | "
                f"{row.get('wall_s', 0)}"
            )
        for line in reports[0][-1]["samples"][: None if args.trace else 3]:
            print("  e.g.", line[:200])


if __name__ == "__main__":
    main()
