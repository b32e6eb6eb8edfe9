"""A fake OpenAI-compatible server: chat (plain, JSON, streamed), embeddings, usage numbers.

Runs in a thread on 127.0.0.1:<free port>, so the real `openai` client and our wrapper run
unchanged. It counts every request, answers in the shape the minds' prompts ask for (keyed
by the JSON schema's name), and can misbehave on demand:

    mode = "ok" | "error" (HTTP 500) | "hang" (never answers in time) | "invalid_json"
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_UNTRUSTED = re.compile(r'<untrusted from="([^"]*)">(.*?)</untrusted>', re.S)
_ROUTINE = re.compile(r"(\d{2}):00 ([a-z_]+) \(([^)]*)\)")


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def memories_in(prompt: str) -> list[str]:
    """The memory blocks the minds put in a prompt, in order."""
    return [text for who, text in _UNTRUSTED.findall(prompt) if who == "memory"]


def said_in(prompt: str) -> list[tuple[str, str]]:
    """(author, text) of the people's words quoted in a prompt."""
    return [(who, text) for who, text in _UNTRUSTED.findall(prompt) if who != "memory"]


def town_answer(schema: str | None, body: dict) -> str:
    """A plausible answer for each of the minds' requests, built from the prompt."""
    prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
    last = str(body["messages"][-1].get("content", ""))
    memories = memories_in(last)
    if schema == "Reply":
        if memories and said_in(last):
            return json.dumps({"text": f"I remember: {memories[0][:200]}", "end": False})
        return json.dumps({"text": "Hello there! Lovely day.", "end": False})
    if schema == "Summary":
        said = "; ".join(f"{who} said {text}" for who, text in said_in(last))
        plain = [line for line in last.splitlines() if ": " in line and "<untrusted" not in line]
        return json.dumps(
            {
                "summary": said or " ".join(plain[1:3])[:300] or "They chatted.",
                "importance": 7 if said else 3,
                "plans": [],
            }
        )
    if schema == "DayPlan":
        slots = [
            {"hour": int(h), "area": a, "activity": act} for h, a, act in _ROUTINE.findall(last)
        ]
        slots = slots or [{"hour": 8, "area": "plaza", "activity": "walk"}]
        notices = [m for m in memories if "Town notice:" in m]
        if notices:  # like a model would: the evening is spent at home, because of the notice
            home = slots[0]["area"]
            why = notices[0].split("Town notice:", 1)[1].strip()[:80]
            slots = [e for e in slots if e["hour"] < 18]
            slots.append({"hour": 18, "area": home, "activity": f"staying home: {why}"})
        return json.dumps({"schedule": slots})
    if schema == "Questions":
        return json.dumps({"questions": ["What matters most to me lately?"]})
    if schema == "Insights":
        return json.dumps(
            {
                "insights": [
                    {
                        "text": "I care about what my neighbours tell me.",
                        "evidence": [0, 1],
                        "importance": 6,
                    }
                ]
            }
        )
    if memories:
        return f"From what I remember: {memories[0]}"
    return "I don't remember anything about that." if "interview" in prompt else "OK."


class FakeOpenAI:
    """The server; `requests` holds every request body (with its path) it received."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict] = []
        self.answer = town_answer  # (schema name or None, body) -> content
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
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append({"path": self.path, **body})
                if fake.mode == "hang":
                    fake.released.wait(30)
                    return
                if fake.mode == "error":
                    self._json(500, {"error": {"message": "the fake is down", "type": "server"}})
                    return
                if self.path.endswith("/embeddings"):
                    self._json(200, fake.embeddings(body))
                elif self.path.endswith("/chat/completions"):
                    if body.get("stream"):
                        self._stream(fake.completion(body), body)
                    else:
                        self._json(200, fake.completion(body))
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def _json(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
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
                if (body.get("stream_options") or {}).get("include_usage"):
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

    def completion(self, body: dict) -> dict:
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("name")
        content = self.answer(schema, body)
        if self.mode == "invalid_json":
            content = "Sure! Here is my answer: {not json"
        prompt_tokens = sum(_tokens(str(m.get("content", ""))) for m in body["messages"])
        completion_tokens = _tokens(content)
        return {
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
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def embeddings(self, body: dict) -> dict:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = self.embedding_dims or body.get("dimensions") or 512
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t, dims)}
            for i, t in enumerate(texts)
        ]
        tokens = sum(_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

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
