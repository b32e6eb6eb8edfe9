"""A fake OpenAI-compatible server: chat (plain, JSON, streamed), embeddings, usage numbers.

Runs in a thread on 127.0.0.1:<free port>, so the real `openai` client and our wrapper run
unchanged. It counts every request and answers neutrally: schema-valid content in the shape
the minds' prompts ask for (keyed by the JSON schema's name), chosen from what the prompt
offers by a hash of the prompt, never tailored to a test. A test about how our code handles
a given answer scripts it explicitly (`script`). It can misbehave on demand:

    mode = "ok" | "error" (HTTP 500) | "hang" (never answers in time) | "invalid_json"
    bad = None | "wrong_schema" | "not_json" | "unknown_area" | "too_long" | "empty"
          | "mixed" (each of those in turn, one per answer)
          | "wrong_speakers" (a script whose lines are said by someone not in the talk)
    fail_next(n, status, headers)  the next n requests get that HTTP error (e.g. a 429)
    usage = "words" (tokens = 3 per word + 7, unlike our chars/4 estimate) | "omit"
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_UNTRUSTED = re.compile(r'<untrusted from="([^"]*)">(.*?)</untrusted>', re.S)
_PLACES = re.compile(r"^Places you can be: (.*)\.$", re.M)
_SPEAKERS = re.compile(r'"speaker": (.*?), "text"')
LONG = 5000  # characters of an over-long answer
BAD_KINDS = ("wrong_schema", "not_json", "unknown_area", "too_long", "empty")
REPLIES = ("Good to see you.", "That sounds interesting.", "I should get going soon.")
ACTIVITIES = ("spending some time", "looking around", "taking a break")


def usage_tokens(text: str) -> int:
    """The fake's token count: 3 per word + 7 (a rule our chars/4 estimate cannot produce)."""
    return 3 * len(text.split()) + 7


def memories_in(prompt: str) -> list[str]:
    """The memory blocks the minds put in a prompt, in order."""
    return [text for who, text in _UNTRUSTED.findall(prompt) if who == "memory"]


def said_in(prompt: str) -> list[tuple[str, str]]:
    """(author, text) of the people's words quoted in a prompt."""
    return [(who, text) for who, text in _UNTRUSTED.findall(prompt) if who != "memory"]


def places_in(prompt: str) -> list[str]:
    """The areas a planning prompt offers."""
    found = _PLACES.search(prompt)
    return [p.strip() for p in found.group(1).split(",")] if found else []


def speakers_in(prompt: str) -> list[str]:
    """The names a script prompt asks lines of, first speaker first."""
    found = _SPEAKERS.search(prompt)
    return found.group(1).split(" or ") if found else ["A", "B"]


def pick(options, *salt) -> object:
    """One of `options`, chosen by a hash of `salt` (deterministic, unrelated to meaning)."""
    digest = hashlib.sha256(":".join(map(str, salt)).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def neutral_answer(schema: str | None, body: dict) -> str:
    """A generic, valid answer for each of the minds' requests (see the module docstring)."""
    last = str(body["messages"][-1].get("content", ""))
    if schema == "Reply":
        return json.dumps({"text": pick(REPLIES, last), "end": False})
    if schema == "Summary":
        return json.dumps(
            {"summary": "They talked for a while.", "importance": pick((2, 3, 4), last)}
        )
    if schema == "DayPlan":
        places = places_in(last) or ["plaza"]
        slots = [
            {"hour": h, "area": pick(places, last, h), "activity": pick(ACTIVITIES, last, h)}
            for h in (7, 10, 13, 16, 19)
        ]
        return json.dumps({"schedule": slots})
    if schema == "Script":
        names = speakers_in(last)
        lines = [
            {"speaker": names[n % len(names)], "text": pick(REPLIES, last, n)} for n in range(4)
        ]
        return json.dumps(
            {
                "lines": lines,
                "summary": "They talked for a while.",
                "importance": pick((2, 3, 4), last),
            }
        )
    if schema == "Questions":
        return json.dumps({"questions": ["What has happened lately?"]})
    if schema == "Insights":
        return json.dumps(
            {"insights": [{"text": "Life in town goes on.", "evidence": [0], "importance": 4}]}
        )
    return "I am not sure what to say."


def bad_answer(kind: str, schema: str | None, body: dict) -> str:
    """A wrong answer of the given kind, for the tests of how the minds cope."""
    if kind == "empty":
        return ""
    if kind == "not_json":
        return "Sure! I think I will go to the park today, and maybe the cafe."
    if kind == "wrong_schema":
        return json.dumps({"answer": "yes", "items": [1, 2, 3]})
    good = json.loads(neutral_answer(schema, body)) if schema else None
    if kind == "wrong_speakers":
        if schema == "Script":
            for line in good["lines"]:
                line["speaker"] = "Nobody Known"
        return json.dumps(good) if good is not None else "Nobody Known: hello."
    if kind == "unknown_area":
        if schema == "DayPlan":
            for n, slot in enumerate(good["schedule"]):
                slot["area"] = ("the moon", "Atlantis", "mars_base")[n % 3]
        if schema == "Summary":
            good["plans"] = [{"who": "Ada", "hour": 15, "area": "the moon", "activity": "meet"}]
        return json.dumps(good) if good is not None else "Let us meet on the moon."
    if kind == "too_long":
        long = ("word " * LONG)[:LONG]
        if good is None:
            return long
        if schema == "Reply":
            good["text"] = long
        elif schema == "Summary":
            good["summary"] = long
        elif schema == "DayPlan":
            for slot in good["schedule"]:
                slot["activity"] = long
        elif schema == "Insights":
            good["insights"][0]["text"] = long
        elif schema == "Questions":
            good["questions"] = [long]
        elif schema == "Script":
            good["lines"] = [
                {"speaker": good["lines"][n % 2]["speaker"], "text": long} for n in range(60)
            ]
        return json.dumps(good)
    raise ValueError(f"unknown bad answer {kind!r}")


class FakeOpenAI:
    """The server; `requests` holds every request body (with its path) it received."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.bad: str | None = None
        self.usage = "words"
        self.requests: list[dict] = []  # each with "path", "received" (monotonic) and "status"
        self.answer = neutral_answer  # (schema name or None, body) -> content
        self.scripts: dict[str | None, list[str | Callable[[dict], str]]] = {}
        self.failures: list[tuple[int, dict]] = []
        self.reported: list[dict] = []  # the usage figures the fake sent, in order
        self.bad_given: list[str] = []  # the kinds of bad answers sent, in order
        self.embedding_dims: int | None = None  # None: the dimensions asked for, else 512
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    # -- life ----------------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if fake.mode == "hang":
                    fake.released.wait(30)
                    return
                if fake.mode == "error":
                    self._json(500, {"error": {"message": "the fake is down", "type": "server"}})
                    return
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                request = {"path": self.path, **body, "received": time.monotonic()}
                with fake.lock:
                    fake.requests.append(request)
                    failure = fake.failures.pop(0) if fake.failures else None
                if fake.mode == "hang":
                    request["status"] = "hung"
                    fake.released.wait(30)
                    return
                if failure is not None:
                    request["status"] = failure[0]
                    message = {"error": {"message": f"fake HTTP {failure[0]}", "type": "fake"}}
                    self._json(failure[0], message, failure[1])
                    return
                if fake.mode == "error":
                    request["status"] = 500
                    self._json(500, {"error": {"message": "the fake is down", "type": "server"}})
                    return
                request["status"] = 200
                if self.path.endswith("/embeddings"):
                    self._json(200, fake.embeddings(body))
                elif self.path.endswith("/chat/completions"):
                    if body.get("stream"):
                        self._stream(fake.completion(body), body)
                    else:
                        self._json(200, fake.completion(body))
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, done: dict, body: dict) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                text = done["choices"][0]["message"]["content"]
                pieces = [text[i : i + 12] for i in range(0, len(text), 12)] or [""]
                base = {
                    "id": done["id"],
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": done["model"],
                }
                for n, piece in enumerate(pieces):
                    delta = {"content": piece, **({"role": "assistant"} if n == 0 else {})}
                    chunk = {
                        **base,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                end = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                if (body.get("stream_options") or {}).get("include_usage") and "usage" in done:
                    usage = {**base, "choices": [], "usage": done["usage"]}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    # -- answers -------------------------------------------------------------------------

    def script(self, schema: str | None, *answers: str | Callable[[dict], str]) -> None:
        """The next answers for `schema` (None: free text), in order, instead of neutral ones;
        a callable gets the request body. The last one stays for later requests."""
        self.scripts[schema] = list(answers)

    def fail_next(self, n: int = 1, status: int = 500, headers: dict | None = None) -> None:
        """The next `n` requests (any path) get HTTP `status` with these headers."""
        with self.lock:
            self.failures.extend([(status, dict(headers or {}))] * n)

    def _content(self, schema: str | None, body: dict) -> str:
        queue = self.scripts.get(schema)
        if queue:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            return answer(body) if callable(answer) else answer
        if self.bad is not None:
            with self.lock:
                kind = self.bad
                if kind == "mixed":
                    kind = BAD_KINDS[len(self.bad_given) % len(BAD_KINDS)]
                self.bad_given.append(kind)
            return bad_answer(kind, schema, body)
        return self.answer(schema, body)

    def completion(self, body: dict) -> dict:
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("name")
        content = self._content(schema, body)
        if self.mode == "invalid_json":
            content = "Sure! Here is my answer: {not json"
        answer = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        if self.usage != "omit":
            prompt_tokens = sum(usage_tokens(str(m.get("content", ""))) for m in body["messages"])
            completion_tokens = usage_tokens(content)
            answer["usage"] = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            with self.lock:
                self.reported.append({"path": "chat/completions", **answer["usage"]})
        return answer

    def embeddings(self, body: dict) -> dict:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = self.embedding_dims or body.get("dimensions") or 512
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t, dims)}
            for i, t in enumerate(texts)
        ]
        answer = {"object": "list", "data": data, "model": body.get("model", "fake")}
        if self.usage != "omit":
            tokens = sum(usage_tokens(t) for t in texts)
            answer["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
            with self.lock:
                self.reported.append({"path": "embeddings", **answer["usage"]})
        return answer

    # -- what it saw ---------------------------------------------------------------------

    def chats(self, schema: str | None = None) -> list[dict]:
        out = [r for r in self.requests if r["path"].endswith("/chat/completions")]
        if schema is not None:
            out = [
                r
                for r in out
                if ((r.get("response_format") or {}).get("json_schema") or {}).get("name") == schema
            ]
        return out

    def count(self) -> Counter:
        return Counter(r["path"].rsplit("/", 1)[-1] for r in self.requests)


def _vector(text: str, dims: int) -> list[float]:
    """A bag-of-words vector (a different hashing than the minds' own embedder)."""
    vec = [0.0] * dims
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        i = int(hashlib.md5(word.encode()).hexdigest(), 16) % dims
        vec[i] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec] if any(vec) else [1.0] + [0.0] * (dims - 1)
