"""The one model client: any OpenAI-compatible endpoint through the `openai` package.

Structured answers are validated with pydantic and retried a bounded number of times; every
call is recorded (purpose, model, tokens, latency, cost) and counted against the world's
daily budget; a semaphore caps calls in flight; a timeout or provider error marks the
provider down for a cooldown, during which minds think offline.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import TypeVar

import openai
from django.conf import settings
from pydantic import BaseModel, ValidationError

from agents import budget
from agents.embedding import fit

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class ModelUnavailable(Exception):
    """No model answer: not configured, budget spent, provider down, or no valid answer."""


class ModelClient:
    """Chat (structured or free text, optionally streamed) and embeddings, all recorded."""

    def __init__(self) -> None:
        self.model = settings.LLM_MODEL
        self.embedding_model = settings.EMBEDDING_MODEL
        self.api = openai.OpenAI(
            base_url=settings.LLM_BASE_URL or None,
            api_key=settings.LLM_API_KEY or "not-needed",
            timeout=settings.LLM_TIMEOUT,
            max_retries=0,  # our own bounded retry below
        )
        self.slots = threading.BoundedSemaphore(max(1, settings.LLM_CONCURRENCY))

    # -- chat ----------------------------------------------------------------------------

    def structured(
        self,
        purpose: str,
        messages: list[dict],
        schema: type[T],
        *,
        world_id: int | None,
        agent: str = "",
        max_tokens: int = 300,
    ) -> T:
        """A validated answer of `schema`, or ModelUnavailable after the bounded retries."""
        kwargs: dict = {}
        if settings.LLM_JSON_MODE == "schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
            }
        elif settings.LLM_JSON_MODE == "object":
            kwargs["response_format"] = {"type": "json_object"}
        attempt_messages = list(messages)
        for attempt in range(settings.LLM_MAX_RETRIES + 1):
            content = self._chat(purpose, attempt_messages, world_id, agent, max_tokens, kwargs)
            try:
                return schema.model_validate(json.loads(_FENCE.sub("", content.strip())))
            except (ValueError, ValidationError) as exc:
                log.info("invalid %s answer (attempt %d): %s", purpose, attempt + 1, exc)
                attempt_messages = [
                    *messages,
                    {"role": "assistant", "content": content[:500]},
                    {"role": "user", "content": "That was not valid. Answer with the JSON only."},
                ]
        raise ModelUnavailable(f"no valid {purpose} answer")

    def text(
        self,
        purpose: str,
        messages: list[dict],
        *,
        world_id: int | None,
        agent: str = "",
        max_tokens: int = 300,
        stream: bool = False,
    ) -> str:
        """A free-text answer (streamed from the provider when `stream`)."""
        return self._chat(purpose, messages, world_id, agent, max_tokens, {}, stream=stream).strip()

    def _chat(
        self,
        purpose: str,
        messages: list[dict],
        world_id: int | None,
        agent: str,
        max_tokens: int,
        extra: dict,
        stream: bool = False,
    ) -> str:
        self._check(world_id)
        tries = settings.LLM_MAX_RETRIES + 1
        for attempt in range(tries):
            started = time.monotonic()
            try:
                with self.slots:
                    if stream:
                        content, usage = self._stream(messages, max_tokens)
                    else:
                        response = self.api.chat.completions.create(
                            model=self.model, messages=messages, max_tokens=max_tokens, **extra
                        )
                        content = response.choices[0].message.content or ""
                        usage = response.usage
            except openai.APITimeoutError as exc:
                # A hung provider is not retried: the resident should not wait twice as long.
                self._failed(purpose, world_id, agent, started, exc)
                raise ModelUnavailable("the model timed out") from exc
            except openai.OpenAIError as exc:
                self._failed(purpose, world_id, agent, started, exc)
                if attempt + 1 == tries:
                    raise ModelUnavailable(str(exc)[:200]) from exc
                continue
            tokens_in = getattr(usage, "prompt_tokens", None) or _estimate(messages)
            tokens_out = getattr(usage, "completion_tokens", None) or len(content) // 4 + 1
            self._record(purpose, self.model, world_id, agent, started, tokens_in, tokens_out)
            return content
        raise ModelUnavailable("unreachable")  # pragma: no cover

    def _stream(self, messages: list[dict], max_tokens: int):
        parts, usage = [], None
        chunks = self.api.chat.completions.create(
            model=self.model,
            messages=messages,
            max_tokens=max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in chunks:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    parts.append(choice.delta.content)
        return "".join(parts), usage

    # -- embeddings ----------------------------------------------------------------------

    def embed(
        self, texts: list[str], *, world_id: int | None, agent: str = ""
    ) -> list[list[float]]:
        """One vector per text, fitted to EMBEDDING_DIMENSIONS."""
        self._check(world_id)
        dims = settings.EMBEDDING_DIMENSIONS
        kwargs = {"dimensions": dims} if self.embedding_model.startswith("text-embedding-3") else {}
        started = time.monotonic()
        try:
            with self.slots:
                response = self.api.embeddings.create(
                    model=self.embedding_model, input=texts, **kwargs
                )
        except openai.OpenAIError as exc:
            self._failed("embed", world_id, agent, started, exc)
            raise ModelUnavailable(str(exc)[:200]) from exc
        tokens = getattr(response.usage, "prompt_tokens", None) or sum(len(t) // 4 for t in texts)
        self._record("embed", self.embedding_model, world_id, agent, started, tokens, 0)
        return [fit(item.embedding, dims) for item in sorted(response.data, key=lambda d: d.index)]

    # -- bookkeeping ---------------------------------------------------------------------

    def _check(self, world_id: int | None) -> None:
        if not budget.configured():
            raise ModelUnavailable("no model configured")
        if not budget.provider_up():
            raise ModelUnavailable("the provider is down")
        if not budget.budget_left(world_id):
            raise ModelUnavailable("today's token budget is spent")

    def _record(
        self,
        purpose: str,
        model: str,
        world_id: int | None,
        agent: str,
        started: float,
        tokens_in: int,
        tokens_out: int,
        ok: bool = True,
        error: str = "",
    ) -> None:
        from agents.models import ModelCall

        if purpose == "embed":
            cost = tokens_in * settings.EMBEDDING_PRICE / 1e6
        else:
            cost = (tokens_in * settings.LLM_PRICE_IN + tokens_out * settings.LLM_PRICE_OUT) / 1e6
        ModelCall.objects.create(
            world_id=world_id,
            agent=agent[:64],
            purpose=purpose,
            model=model[:80],
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_ms=int((time.monotonic() - started) * 1000),
            cost_usd=cost,
            ok=ok,
            error=error[:200],
        )
        budget.add_tokens(world_id, tokens_in + tokens_out)

    def _failed(self, purpose, world_id, agent, started, exc: Exception) -> None:
        log.warning("model call %s failed: %s", purpose, exc)
        model = self.embedding_model if purpose == "embed" else self.model
        self._record(purpose, model, world_id, agent, started, 0, 0, ok=False, error=str(exc))
        budget.mark_down(f"{type(exc).__name__}: {exc}")


def _estimate(messages: list[dict]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1


_clients: dict[tuple, ModelClient] = {}
_lock = threading.Lock()


def get_client() -> ModelClient:
    """The process's client for the current settings (tests may change them)."""
    key = (
        settings.LLM_BASE_URL,
        settings.LLM_API_KEY,
        settings.LLM_MODEL,
        settings.EMBEDDING_MODEL,
        settings.LLM_TIMEOUT,
        settings.LLM_CONCURRENCY,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = ModelClient()
        return client
