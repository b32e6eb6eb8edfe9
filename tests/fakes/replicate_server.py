"""A fake Replicate API: predictions create / get / cancel, and the output files they point at.

Runs in a thread on 127.0.0.1:<free port>, so the real `replicate` client runs unchanged
(pointed at it with its base_url). It records every request and can misbehave on demand:

    mode = "ok"       the prediction succeeds after `polls` status checks; output is a WAV
           "fail"     the prediction ends with status "failed" and an error
           "error"    creating a prediction answers HTTP 500
           "hang"     the prediction never finishes (the caller's bounded wait must end it)
           "not_audio" the output URL looks like a WAV file but serves an HTML page
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "r8_fake_token"


def tone_wav(seconds: float = 2.0, rate: int = 16_000) -> bytes:
    """A short A4 tone as WAV: what the fake model 'generates'."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = (
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(b"".join(frames))
    return out.getvalue()


class FakeReplicate:
    """The server and what it has seen."""

    def __init__(self, mode: str = "ok", polls: int = 2) -> None:
        self.mode = mode
        self.polls = polls
        self.requests: list[tuple[str, str, dict | None, str]] = []  # method, path, body, auth
        self.predictions: dict[str, dict] = {}
        self.audio = tone_wav()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeReplicate:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def created(self) -> list[dict]:
        """The bodies of every prediction created."""
        return [
            body
            for method, path, body, _ in self.requests
            if method == "POST" and path == "/v1/predictions"
        ]

    def _prediction(self, pid: str) -> dict:
        p = self.predictions[pid]
        if self.mode == "hang" or p["status"] in ("succeeded", "failed", "canceled"):
            return p
        p["checks"] += 1
        if p["checks"] >= self.polls:
            if self.mode == "fail":
                p.update(status="failed", error="CUDA out of memory (fake)")
            else:
                p.update(status="succeeded", output=f"{self.url}/files/{pid}.wav")
        else:
            p["status"] = "processing"
        return p

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps({k: v for k, v in body.items() if k != "checks"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body: dict | None) -> None:
                with fake.lock:
                    fake.requests.append(
                        (self.command, self.path, body, self.headers.get("Authorization", ""))
                    )

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._json(
                        401, {"title": "Unauthenticated", "detail": "bad token", "status": 401}
                    )
                    return False
                return True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._record(body)
                if not self._authorised():
                    return
                if self.path == "/v1/predictions":
                    if fake.mode == "error":
                        self._json(
                            500,
                            {
                                "title": "Internal Server Error",
                                "detail": "fake outage",
                                "status": 500,
                            },
                        )
                        return
                    pid = f"p{len(fake.predictions) + 1}"
                    fake.predictions[pid] = {
                        "id": pid,
                        "model": "meta/musicgen",
                        "version": body.get("version", ""),
                        "status": "starting",
                        "input": body.get("input"),
                        "output": None,
                        "logs": "",
                        "error": None,
                        "metrics": {},
                        "created_at": "2026-01-01T00:00:00Z",
                        "started_at": None,
                        "completed_at": None,
                        "urls": {
                            "get": f"{fake.url}/v1/predictions/{pid}",
                            "cancel": f"{fake.url}/v1/predictions/{pid}/cancel",
                        },
                        "checks": 0,
                    }
                    self._json(201, fake.predictions[pid])
                elif self.path.endswith("/cancel"):
                    pid = self.path.split("/")[3]
                    fake.predictions[pid]["status"] = "canceled"
                    self._json(200, fake.predictions[pid])
                else:
                    self._json(404, {"detail": "not found", "status": 404})

            def do_GET(self) -> None:
                self._record(None)
                if self.path.startswith("/files/"):
                    html = fake.mode == "not_audio"
                    data = b"<html>nope</html>" if html else fake.audio
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html" if html else "audio/wav")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if not self._authorised():
                    return
                pid = self.path.rstrip("/").split("/")[-1]
                if self.path.startswith("/v1/predictions/") and pid in fake.predictions:
                    self._json(200, fake._prediction(pid))
                else:
                    self._json(404, {"detail": "not found", "status": 404})

        return Handler
