"""Bring your own agent (issue #18), against a live `runtown`: tokens, the socket, MCP, the bot."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from tests.inbox import Inbox
from tests.netclient import NetSocket, make_sessions, run

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"^hv_[A-Za-z0-9_-]{20,}$", re.M)
ISSUED: list[str] = []  # every token made in this module: none may appear in the server log


class AgentSocket(Inbox):
    """A world socket opened with an agent token: no cookie, no Origin."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__()
        self.url = base_url.replace("http://", "ws://") + "/ws/world/"
        self.token = token

    async def open(self) -> tuple[dict, dict]:
        self.ws = await websockets.connect(
            self.url, additional_headers={"Authorization": f"Bearer {self.token}"}
        )
        hello = await self.until(lambda f: f.get("type") == "hello")
        snapshot = await self.until(lambda f: f.get("type") == "snapshot")
        return hello, snapshot

    async def receive_text(self, timeout: float) -> str:
        return await asyncio.wait_for(self.ws.recv(), timeout)

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture(scope="module")
def town(module_town_process):
    # A small per-token input limit, so a test can reach it (the others stay far below).
    # People here make more tokens than the default cap allows (its own test is below).
    extra = {"TOWN_AGENT_INPUTS": "30", "TOWN_AGENT_TOKENS_PER_USER": "20"}
    proc = module_town_process(extra).start()
    proc.wait_ready()
    # A person per scenario: residents invite people, so one may be busy with a resident.
    people = ["bo_person", "di_person", "ed_person"]
    proc.sessions = make_sessions(
        proc.env, ["ada_owner", "staff_owner", "cy_owner", "di_owner", *people]
    )
    proc.user_ids, proc.tokens = _ids_and_tokens(proc)
    return proc


# The tokens the scenarios use, made before them by `town agent-token create` itself, all
# in one second process (a Django start per token made this module slow); the command on its
# own, in a process of its own, is tested by the first test and the world-scoped one.
TOKENS = {
    "Walker": "ada_owner",
    "Chatty": "cy_owner",
    "staff, no label": "staff_owner",
    "Doomed": "ada_owner",
    "Flood": "cy_owner",
    "Twins": "ada_owner",
    "Many": "cy_owner",
    "Claude": "ada_owner",
    "Light": "cy_owner",
    "Remote": "cy_owner",
    "Example": "ada_owner",
}
_ISSUE = """
import io, json
from django.contrib.auth.models import User
from django.core.management import call_command
out = {"ids": dict(User.objects.values_list("username", "pk")), "created": {}}
for label, user in json.loads(%r).items():
    printed = io.StringIO()
    named = [] if "," in label else ["--label", label]
    call_command("town", "agent-token", "create", user, *named, stdout=printed)
    out["created"][label] = printed.getvalue()
print(json.dumps(out))
"""


def _ids_and_tokens(town) -> tuple[dict[str, int], dict[str, tuple[int, str]]]:
    """Every user's id, and the TOKENS made (label -> (id, token))."""
    script = _ISSUE % json.dumps(TOKENS)
    out = json.loads(town.manage("shell", "-c", script).stdout.strip().splitlines()[-1])
    return out["ids"], {label: _issued(text) for label, text in out["created"].items()}


def _issued(out: str) -> tuple[int, str]:
    found = TOKEN.findall(out)
    assert len(found) == 1, out
    ISSUED.append(found[0])
    return int(re.search(r"#(\d+)", out).group(1)), found[0]


def new_token(town, username: str, *extra: str) -> tuple[int, str]:
    """Create a token on the command line; (id, token)."""
    return _issued(town.manage("town", "agent-token", "create", username, *extra).stdout)


def test_token_created_on_the_command_line_is_listed_by_prefix_only(town):
    token_id, token = new_token(town, "ada_owner", "--label", "Scout")
    listing = town.manage("town", "agent-token", "list").stdout
    assert f"#{token_id}" in listing and "Scout" in listing and token[:10] in listing
    assert token not in listing
    assert "never" in listing  # not used yet


def test_agent_joins_walks_and_talks_with_a_person_who_sees_it_marked(town):
    _, token = town.tokens["Walker"]

    async def scenario() -> None:
        agent = AgentSocket(town.url, token)
        hello, _ = await agent.open()
        assert hello["you"]["agent"] is True
        assert hello["you"]["label"] == "Walker"
        assert hello["you"]["user"] == "ada_owner"
        person = NetSocket(town.url, town.sessions["bo_person"])
        await person.open()
        await person.send(type="join", id="pj")
        assert (await person.ack("pj"))["type"] == "ack"

        await agent.send(type="join", id="j1", name="Ada's scout")
        ack = await agent.ack("j1")
        assert ack["type"] == "ack", ack
        me = ack["player"]
        joined = await person.until(
            lambda e: e.get("kind") == "player_joined" and e["player"]["id"] == me
        )
        # The minds see a person (kind human); pages see a guest agent.
        assert joined["player"]["kind"] == "human"
        assert joined["player"]["guest"] == "agent"
        await agent.send(type="move", id="m1", x=20, y=20)
        assert (await agent.ack("m1"))["type"] == "ack"
        await person.until(lambda e: e.get("kind") == "move" and e["player"] == me)

        bo = "h" + person_pid(town, "bo_person")
        for n in range(10):
            await agent.send(type="invite", id=f"i{n}", to=bo)
            if (await agent.ack(f"i{n}"))["type"] == "ack":
                break
            await leave_conversations(person, bo)  # a resident got there first
            await asyncio.sleep(1)
        invited = await person.until(
            lambda e: e.get("kind") == "conversation_invited" and e["conversation"]["inviter"] == me
        )
        cid = invited["conversation"]["id"]
        await person.send(type="accept", id="a1", conversation=cid)
        assert (await person.ack("a1"))["type"] == "ack"
        await agent.until(  # this conversation's start, not one between residents
            lambda e: e.get("kind") == "conversation_started" and e["conversation"]["id"] == cid,
            timeout=60,
        )
        await agent.send(type="say", id="s1", conversation=cid, text="<b>Hello</b> from a bot")
        assert (await agent.ack("s1"))["type"] == "ack"
        line = await person.until(lambda e: e.get("kind") == "message" and e["author"] == me)
        assert line["text"] == "<b>Hello</b> from a bot"  # stored as said; pages escape it
        await agent.send(type="leave_conversation", id="lc", conversation=cid)
        assert (await agent.ack("lc"))["type"] == "ack"
        await agent.send(type="leave", id="l1")
        assert (await agent.ack("l1"))["type"] == "ack"
        await person.until(lambda e: e.get("kind") == "player_left" and e["player"] == me)
        await agent.close()
        await person.close()

    run(scenario())


def person_pid(town, username: str) -> str:
    """The user id of a username (a person's character is h<id>)."""
    return str(town.user_ids[username])


def test_agent_talks_with_a_resident(town):
    _, token = town.tokens["Chatty"]

    async def scenario() -> None:
        agent = AgentSocket(town.url, token)
        _, snapshot = await agent.open()
        await agent.send(type="join", id="j")
        me = (await agent.ack("j"))["player"]
        resident = next(p for p in snapshot["players"] if p["kind"] == "agent")
        rid = resident["id"]
        # Residents wander: ask until one is free to accept (each ask gets one answer).
        for n in range(20):
            await agent.send(type="invite", id=f"i{n}", to=rid)
            if (await agent.ack(f"i{n}"))["type"] == "ack":
                break
            await asyncio.sleep(2)
        else:
            pytest.fail("the resident never took an invitation")
        started = await agent.until(
            lambda e: (
                e.get("kind") == "conversation_started" and me in e["conversation"]["participants"]
            ),
            timeout=90,
        )
        cid = started["conversation"]["id"]
        await agent.send(type="say", id="s", conversation=cid, text="Hi! What do you do here?")
        assert (await agent.ack("s"))["type"] == "ack"
        reply = await agent.until(
            lambda e: e.get("kind") == "message" and e["author"] == rid, timeout=90
        )
        assert reply["text"]
        await agent.close()

    run(scenario())
    # Its words are kept as its owner's, like a person's (shown escaped, `forget --user`).
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from town.models import Message; "
            "print(Message.objects.filter(text='Hi! What do you do here?')"
            ".values_list('author_user__username', flat=True).first())",
        ],
        cwd=ROOT,
        env={**town.env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "cy_owner"


def test_agents_never_get_staff_powers(town):
    _, token = town.tokens["staff, no label"]

    async def scenario() -> None:
        agent = AgentSocket(town.url, token)
        await agent.open()
        await agent.send(type="freeze", id="f")
        answer = await agent.ack("f")
        assert answer["type"] == "error" and answer["code"] == "forbidden"
        await agent.close()

    run(scenario())
    assert "running" in town.manage("town", "status").stdout


@pytest.mark.parametrize("token", ["hv_unknown_token_of_nobody_at_all", "", "x" * 300])
def test_unknown_token_is_refused_at_the_handshake(town, token):
    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await AgentSocket(town.url, token).open()
        assert refused.value.response.status_code == 403

    run(scenario())


def test_socket_without_token_or_origin_is_still_refused(town):
    async def scenario() -> None:
        url = town.url.replace("http://", "ws://") + "/ws/world/"
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url)
        assert refused.value.response.status_code == 403

    run(scenario())


def test_revoking_from_another_process_closes_the_open_socket(town):
    token_id, token = town.tokens["Doomed"]

    async def scenario() -> None:
        agent = AgentSocket(town.url, token)
        await agent.open()
        await asyncio.to_thread(town.manage, "town", "agent-token", "revoke", str(token_id))
        closed = await agent.until(
            lambda f: f.get("type") == "error" and "revoked" in f["message"], timeout=10
        )
        assert closed["code"] == "forbidden"
        with pytest.raises(websockets.ConnectionClosed) as gone:
            await asyncio.wait_for(agent.ws.recv(), 10)
        assert gone.value.rcvd.code == 4003
        with pytest.raises(websockets.InvalidStatus):
            await AgentSocket(town.url, token).open()

    run(scenario())
    assert "revoked" in town.manage("town", "agent-token", "list", "--user", "ada_owner").stdout


def test_a_flood_closes_the_agent_socket_with_4008(town):
    _, token = town.tokens["Flood"]

    async def scenario() -> None:
        agent = AgentSocket(town.url, token)
        await agent.open()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            for n in range(500):
                await agent.send(type="move", id=f"f{n}", x=1, y=1)
            while True:
                await agent.recv(10)
        assert closed.value.rcvd.code == 4008

    run(scenario())


def test_a_tokens_sockets_share_its_input_limit(town):
    _, token = town.tokens["Twins"]

    async def scenario() -> None:
        first, second = AgentSocket(town.url, token), AgentSocket(town.url, token)
        await first.open()
        await first.send(type="join", id="j")
        await first.ack("j")  # or `conflict`: the owner's character is in already
        await second.open()
        refusal = None
        # Paced below each socket's own bucket: only the token's shared count can refuse.
        for n in range(100):
            socket = (first, second)[n % 2]
            await socket.send(type="move", id=f"m{n}", x=5 + n % 3, y=5)
            answer = await socket.ack(f"m{n}")
            if answer["type"] == "error":
                refusal = answer
                break
            await asyncio.sleep(0.1)
        assert refusal is not None and refusal["code"] == "rate_limited"
        assert "agent token" in refusal["message"]
        await first.close()
        await second.close()

    run(scenario())


def test_a_token_has_a_connection_cap(town):
    _, token = town.tokens["Many"]

    async def scenario() -> None:
        sockets = [AgentSocket(town.url, token) for _ in range(3)]
        for s in sockets[:2]:
            await s.open()
        third = sockets[2]
        third.ws = await websockets.connect(
            third.url, additional_headers={"Authorization": f"Bearer {token}"}
        )
        refusal = await third.until(lambda f: f.get("type") == "error")
        assert refusal["code"] == "rate_limited"
        for s in sockets:
            await s.ws.close()

    run(scenario())


def test_account_page_lists_creates_and_revokes_tokens(town):
    session = town.sessions["cy_owner"]
    with httpx.Client(base_url=town.url, cookies={"sessionid": session}) as http:
        page = http.get("/accounts/agents/")
        assert page.status_code == 200
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        # Without the CSRF token nothing is made.
        refused = http.post("/accounts/agents/", data={"action": "create", "label": "X"})
        assert refused.status_code == 403
        made = http.post(
            "/accounts/agents/",
            data={"action": "create", "label": "Page bot", "csrfmiddlewaretoken": csrf},
        )
        assert made.status_code == 200
        token = re.search(r'data-testid="token-value">(hv_[^<]+)<', made.text).group(1)
        ISSUED.append(token)
        listing = http.get("/accounts/agents/")
        assert "Page bot" in listing.text and token[:10] in listing.text
        assert token not in listing.text  # shown once, then only its prefix
        token_id = re.search(r'data-testid="revoke-(\d+)"', listing.text).group(1)

        async def open_socket():
            await AgentSocket(town.url, token).open()

        run(open_socket())  # the token works
        other = town.sessions["bo_person"]
        with httpx.Client(base_url=town.url, cookies={"sessionid": other}) as stranger:
            page = stranger.get("/accounts/agents/")
            csrf2 = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            theirs = stranger.post(
                "/accounts/agents/",
                data={"action": "revoke", "token": token_id, "csrfmiddlewaretoken": csrf2},
            )
            assert theirs.status_code == 404  # someone else's token
        gone = http.post(
            "/accounts/agents/",
            data={"action": "revoke", "token": token_id, "csrfmiddlewaretoken": csrf},
        )
        assert gone.status_code == 302
        assert "revoked" in http.get("/accounts/agents/").text

    async def refused_socket():
        with pytest.raises(websockets.InvalidStatus):
            await AgentSocket(town.url, token).open()

    run(refused_socket())


def test_account_page_needs_a_signed_in_person(town):
    page = httpx.get(town.url + "/accounts/agents/")
    assert page.status_code == 302 and "/accounts/login/" in page.headers["location"]


async def leave_conversations(person: NetSocket, me: str) -> None:
    """Take a person out of the conversations they were drawn into (by residents)."""
    ended = {e["conversation"] for e in person.events if e.get("kind") == "conversation_ended"}
    for e in person.events:
        conv = e.get("conversation")
        if isinstance(conv, dict) and me in conv["participants"] and conv["id"] not in ended:
            ended.add(conv["id"])
            await person.send(
                type="leave_conversation", id=f"l{conv['id']}", conversation=conv["id"]
            )


def _text(result) -> str:
    assert not result.is_error, result
    return "\n".join(c.text for c in result.content)


def test_mcp_over_stdio(town):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    _, token = town.tokens["Claude"]
    params = StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "town", "mcp", "--token", token, "--url", town.url],
        env=town.env,
        cwd=str(ROOT),
    )

    async def scenario() -> None:
        person = NetSocket(town.url, town.sessions["di_person"])
        await person.open()
        await person.send(type="join", id="pj2")
        await person.ack("pj2")
        me = "h" + person_pid(town, "di_person")
        async with stdio_client(params) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            tools = {t.name for t in (await mcp.list_tools()).tools}
            assert tools >= {"look", "go_to", "invite", "accept", "decline", "say", "leave"}
            assert tools >= {"recent_messages", "whoami"}
            assert "agent 'Claude' of ada_owner" in _text(await mcp.call_tool("whoami", {}))
            assert "Walking to plaza" in _text(await mcp.call_tool("go_to", {"place": "plaza"}))
            look = _text(await mcp.call_tool("look", {}))
            assert look.startswith("Time: Day") and "You (" in look
            nowhere = await mcp.call_tool("go_to", {"place": "atlantis"})
            assert nowhere.is_error and "no area called" in nowhere.content[0].text
            areas = await mcp.read_resource("town://areas")
            assert "plaza (plaza)" in areas.contents[0].text
            for _ in range(10):
                invited = await mcp.call_tool("invite", {"who": "di_person"})
                if not invited.is_error:
                    break
                # A resident got there first, to the person or to the agent.
                await leave_conversations(person, me)
                await mcp.call_tool("leave", {})
                await asyncio.sleep(2)  # invitations are rate limited
            assert "Invited" in _text(invited)
            invited = await person.until(
                lambda e: (
                    e.get("kind") == "conversation_invited"
                    and e["conversation"]["invitee"] == me
                    and e["conversation"]["inviter"] == "h" + person_pid(town, "ada_owner")
                )
            )
            cid = invited["conversation"]["id"]
            await person.send(type="accept", id="pa", conversation=cid)
            await person.ack("pa")
            await person.until(
                lambda e: (
                    e.get("kind") == "conversation_started" and e["conversation"]["id"] == cid
                ),
                timeout=60,
            )
            for _ in range(50):  # the MCP side hears the start through its own socket
                said = await mcp.call_tool("say", {"text": "Hello from an MCP agent"})
                if not said.is_error:
                    break
                await asyncio.sleep(0.2)
            assert "Said it" in _text(said)
            await person.until(
                lambda e: e.get("kind") == "message" and e["text"] == "Hello from an MCP agent"
            )
            recent = _text(await mcp.call_tool("recent_messages", {}))
            assert "Hello from an MCP agent" in recent
            assert "left" in _text(await mcp.call_tool("leave", {"town": True}))
        await person.close()

    run(scenario())


def test_mcp_over_stdio_without_the_towns_settings(town):
    """`python -m town.mcp_server` needs only the package: no settings, no database."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    _, token = town.tokens["Light"]
    env = {k: v for k, v in town.env.items() if k not in ("TOWN_VAR_DIR", "DATABASE_URL")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "town.mcp_server", "--url", town.url],
        env={**env, "HEARTHVALE_TOKEN": token, "DJANGO_SETTINGS_MODULE": "no.such.settings"},
        cwd=str(ROOT),
    )

    async def scenario() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            assert "agent 'Light' of cy_owner" in _text(await mcp.call_tool("whoami", {}))
            assert "plaza (plaza)" in (await mcp.read_resource("town://areas")).contents[0].text

    run(scenario())


def test_mcp_over_http(town):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    _, token = town.tokens["Remote"]
    refused = httpx.post(town.url + "/mcp/", json={})
    assert refused.status_code == 401

    async def scenario() -> None:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with (
            http,
            streamable_http_client(town.url + "/mcp/", http_client=http) as (read, write),
            ClientSession(read, write) as mcp,
        ):
            await mcp.initialize()
            assert "agent 'Remote' of cy_owner" in _text(await mcp.call_tool("whoami", {}))
            assert "Walking to" in _text(await mcp.call_tool("go_to", {"x": 20, "y": 20}))
            assert "Time: Day" in _text(await mcp.call_tool("look", {}))

    run(scenario())


def plaza_tile() -> tuple[int, int]:
    """The middle of the map's plaza (town/maps/town.tmj)."""
    from town.engine.map import TownMap

    town_map = TownMap.from_tiled(json.loads((ROOT / "town/maps/town.tmj").read_text()))
    return town_map.nearest_walkable(*town_map.areas["plaza"].center, 5)


def test_the_example_bot_joins_walks_and_greets(town):
    _, token = town.tokens["Example"]

    async def scenario() -> tuple[str, str]:
        person = NetSocket(town.url, town.sessions["ed_person"])
        await person.open()
        await person.send(type="join", id="pj3")
        await person.ack("pj3")  # or `conflict`: still there from an earlier test
        x, y = plaza_tile()
        await person.send(type="move", id="pm", x=x, y=y)
        assert (await person.ack("pm"))["type"] == "ack"
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "examples" / "agent_bot.py"),
            *("--url", town.url, "--token", token, "--seconds", "90"),
            stdout=asyncio.subprocess.PIPE,
        )
        me = f"h{person_pid(town, 'ed_person')}"

        greeting = {"text": ""}
        try:
            # The person accepts the bot's invitation; whoever the bot meets first (the
            # person, or a resident passing by), it greets.
            deadline = asyncio.get_running_loop().time() + 90
            while True:
                left = deadline - asyncio.get_running_loop().time()
                item = await person.until(
                    lambda e: e.get("kind") in ("conversation_invited", "message"), left
                )
                if item["kind"] == "message" and "guest agent" in item["text"]:
                    greeting = item
                    break
                if item["kind"] == "conversation_invited":
                    conv = item["conversation"]
                    if conv["invitee"] == me:
                        await person.send(
                            type="accept", id=f"a{conv['id']}", conversation=conv["id"]
                        )
        except AssertionError:
            pass  # the bot's output below says what it did
        finally:
            if bot.returncode is None:
                bot.terminate()
        out, _ = await bot.communicate()
        await person.close()
        return greeting["text"], out.decode()

    text, out = run(scenario())
    assert text.startswith("Hello!"), out
    assert "walking to the plaza" in out and "greeted" in out, out


def test_the_guest_flag_is_public_kept_in_snapshots_and_only_for_people():
    """The engine: a guest agent is a "human" with `guest: "agent"`, restored after a restart."""
    from town.engine import InputRefused, World
    from town.engine.map import TownMap

    town_map = TownMap(6, 6, set())
    world = World(town_map, seed=1)
    (joined,) = world.apply(
        {"type": "join", "actor": "h1", "kind": "human", "guest": "agent", "x": 1, "y": 1}, 0
    )
    assert joined["player"]["kind"] == "human" and joined["player"]["guest"] == "agent"
    world.apply({"type": "join", "actor": "h2", "x": 2, "y": 2}, 0)
    restored = World.restore(world.snapshot(), town_map)
    players = {p["id"]: p for p in restored.public_state(0)["players"]}
    assert players["h1"]["guest"] == "agent" and "guest" not in players["h2"]
    for bad in ({"guest": "staff"}, {"guest": "agent", "kind": "agent"}):
        with pytest.raises(InputRefused):
            world.apply({"type": "join", "actor": "x", "x": 3, "y": 3, **bad}, 0)
    # A resident nearby perceives a person, told that it is a guest agent.
    world.apply({"type": "join", "actor": "r1", "kind": "agent", "x": 1, "y": 2}, 0)
    for t in (1000, 2000, 5000):
        world.tick(t)
    nearby = {o["id"]: o for o in world.requests["r1"]["context"]["nearby"]}
    assert nearby["h1"]["kind"] == "human" and nearby["h1"]["guest"] == "agent"
    assert "guest" not in nearby["h2"]


def test_a_socket_registering_just_after_its_tokens_revocation_is_closed():
    """The handshake looked the token up just before the revocation committed: the socket
    registers after this process heard the notice, and is closed at once."""
    from town import agent_sockets

    closed: list = []

    class OpeningSocket:
        async def revoked(self) -> None:
            closed.append(self)

    async def scenario() -> None:
        await agent_sockets.on_control({"action": "token_revoked", "tokens": [987654]})
        socket = OpeningSocket()
        agent_sockets.register(987654, socket)
        for _ in range(20):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == [socket]
        assert agent_sockets.open_count(987654) == 0

    run(scenario())


@pytest.mark.django_db
def test_admin_lists_tokens_by_prefix_and_revokes_them(admin_client, django_user_model):
    from accounts import services

    user = django_user_model.objects.create_user("eve_owner")
    token, secret = services.create_token(user, "Eve's bot")
    page = admin_client.get("/admin/accounts/agenttoken/").content.decode()
    assert token.prefix in page and secret not in page and token.digest not in page
    assert admin_client.get("/admin/accounts/agenttoken/add/").status_code == 403
    done = admin_client.post(
        "/admin/accounts/agenttoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert done.status_code == 302
    token.refresh_from_db()
    assert token.revoked is not None
    assert services.resolve(secret, None) is None


@pytest.mark.django_db
def test_a_person_has_a_cap_of_live_tokens(django_user_model, settings):
    from accounts import services

    settings.TOWN_AGENT_TOKENS_PER_USER = 2
    user = django_user_model.objects.create_user("gil_owner")
    first, _ = services.create_token(user, "one")
    services.create_token(user, "two")
    with pytest.raises(services.TokenRefused, match="at most 2"):
        services.create_token(user, "three")
    services.revoke_token(first.pk, user=user)
    services.create_token(user, "three")  # a revoked token frees its place


def test_a_token_scoped_to_a_world_opens_only_that_world(town):
    out = town.manage("town", "fork", "1", "Elsewhere").stdout
    other = int(re.search(r"#(\d+)", out.split("into", 1)[-1]).group(1))
    # Its own owner: cy_owner may hold the most live tokens a person can by now.
    _, token = new_token(town, "di_owner", "--label", "Homebody", "--world", str(other))

    async def scenario() -> None:
        with pytest.raises(websockets.InvalidStatus):
            await AgentSocket(town.url, token).open()  # the current world is another one
        agent = AgentSocket(town.url, token)
        agent.url = agent.url + f"{other}/"
        hello, _ = await agent.open()
        assert hello["world"] == other and hello["you"]["agent"] is True
        await agent.close()

    run(scenario())


def test_tokens_never_appear_in_the_server_log(town):
    assert ISSUED
    log = town.output()
    for token in ISSUED:
        assert token not in log
