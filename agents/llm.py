"""The one model client: any OpenAI-compatible endpoint through the `openai` package.

Structured answers are validated with pydantic and retried a bounded number of times; every
call is recorded (purpose, model, tokens, latency, cost) and counted against the world's
daily budget; a semaphore caps calls in flight. Two caches in the database, shared by every
process, keep the same tokens from being paid for twice: embeddings by (model, dimensions,
text), and whole chat answers to an identical request within MIND_CHAT_CACHE_SECONDS
(`stats` counts their hits and misses). Provider health lives in agents/budget.py:
timeouts, connection errors and 5xx count towards marking the provider down (several in a
row, not one); a 429 waits as long as the provider asks (Retry-After) and never marks it down.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from agents import budget
from agents.embedding import fit

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
# Hits and misses of the caches in this process ("embed_hit", "chat_miss", …), for the bench.
stats: Counter = Counter()
_stats_lock = threading.Lock()
CHAT_CACHE_PRUNE_EVERY = 60.0  # seconds between deletions of expired chat answers
_pruned = [0.0]


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
        over_budget: bool = False,
    ) -> T:
        """A validated answer of `schema`, or ModelUnavailable after the bounded retries.

        `over_budget`: the call finishes something begun under the budget (a conversation's
        mind mode is kept until it ends), so a budget spent meanwhile does not refuse it.
        """
        kwargs: dict = {}
        if settings.LLM_JSON_MODE == "schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
            }
        elif settings.LLM_JSON_MODE == "object":
            kwargs["response_format"] = {"type": "json_object"}
        key = chat_key(self.model, messages, max_tokens, kwargs)
        cached = cached_chat(key)
        if cached is not None:
            try:
                return schema.model_validate(json.loads(_FENCE.sub("", cached.strip())))
            except (ValueError, ValidationError):
                forget_chat(key)
        attempt_messages = list(messages)
        for attempt in range(settings.LLM_MAX_RETRIES + 1):
            content = self._chat(
                purpose, attempt_messages, world_id, agent, max_tokens, kwargs, over_budget
            )
            try:
                answer = schema.model_validate(json.loads(_FENCE.sub("", content.strip())))
                keep_chat(key, content)
                return answer
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
        cache: bool = True,
    ) -> str:
        """A free-text answer (streamed from the provider when `stream`); never empty.

        `cache=False`: always ask the provider (an operator's interview wants a fresh answer).
        """
        key = chat_key(self.model, messages, max_tokens, {})
        cached = cached_chat(key) if cache else None
        if cached and cached.strip():
            return cached.strip()
        text = self._chat(purpose, messages, world_id, agent, max_tokens, {}, stream=stream)
        if not text.strip():
            raise ModelUnavailable(f"an empty {purpose} answer")
        if cache:
            keep_chat(key, text)
        return text.strip()

    def _chat(
        self,
        purpose: str,
        messages: list[dict],
        world_id: int | None,
        agent: str,
        max_tokens: int,
        extra: dict,
        over_budget: bool = False,
        stream: bool = False,
    ) -> str:
        def request() -> tuple[str, Any]:
            if stream:
                return self._stream(messages, max_tokens)
            response = self.api.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, **extra
            )
            return response.choices[0].message.content or "", response.usage

        (content, usage), started = self._send(purpose, world_id, agent, request, over_budget)
        tokens_in = _reported(usage, "prompt_tokens")
        tokens_out = _reported(usage, "completion_tokens")
        if tokens_in is None:  # the provider gave no figure: our estimate stands in
            tokens_in = _estimate(messages)
        if tokens_out is None:
            tokens_out = len(content) // 4 + 1
        self._record(purpose, self.model, world_id, agent, started, tokens_in, tokens_out)
        return content

    def _send(
        self,
        purpose: str,
        world_id: int | None,
        agent: str,
        request: Callable[[], R],
        over_budget: bool = False,
    ) -> tuple[R, float]:
        """One call with the house rules: admission, bounded retries, 429 back-off, health."""
        self._check(world_id, over_budget)
        tries = settings.LLM_MAX_RETRIES + 1
        failures = 0
        waited = False
        while True:
            started = time.monotonic()
            try:
                with self.slots:
                    result = request()
            except openai.RateLimitError as exc:
                delay = retry_after(exc.response)
                budget.back_off(delay)
                self._failed(purpose, world_id, agent, started, exc, counts=False)
                # Wait once for a short back-off; a longer one is not worth a resident's wait.
                if waited or delay > float(getattr(settings, "LLM_RATE_LIMIT_WAIT", 5.0)):
                    raise ModelUnavailable(f"rate limited for {delay:.1f} s") from exc
                waited = True
                time.sleep(delay)
                continue
            except openai.APITimeoutError as exc:
                # A hung provider is not retried: the resident should not wait twice as long.
                self._failed(purpose, world_id, agent, started, exc)
                raise ModelUnavailable("the model timed out") from exc
            except openai.OpenAIError as exc:
                down = self._failed(purpose, world_id, agent, started, exc, counts=_counts(exc))
                failures += 1
                if failures >= tries or down:
                    raise ModelUnavailable(str(exc)[:200]) from exc
                continue
            budget.call_succeeded()
            return result, started

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

    # -- health ----------------------------------------------------------------------------

    def probe(self) -> bool:
        """Ask a provider marked down a free question (its model list); True if it answered."""
        if not budget.configured() or budget.admit() is not None:
            return False
        try:
            self.api.models.list()  # no slot: hung calls may hold them all
        except openai.APIStatusError as exc:
            # Any answer but a 5xx or a 429 means the provider is reachable again (some
            # OpenAI-compatible servers have no model list and answer 404).
            if exc.status_code >= 500 or exc.status_code == 429:
                budget.call_failed(f"probe: {type(exc).__name__}: {exc}")
                return False
        except openai.OpenAIError as exc:
            budget.call_failed(f"probe: {type(exc).__name__}: {exc}")
            return False
        log.info("the model provider answers again")
        budget.call_succeeded()
        return True

    # -- embeddings ----------------------------------------------------------------------

    def embed(
        self, texts: list[str], *, world_id: int | None, agent: str = ""
    ) -> list[list[float]]:
        """One vector per text, fitted to EMBEDDING_DIMENSIONS; each text is paid for once
        (the embedding cache, shared by every process, answers the texts seen before)."""
        from agents.models import EmbeddingCache

        dims = settings.EMBEDDING_DIMENSIONS
        use_cache = bool(getattr(settings, "MIND_EMBED_CACHE", True))
        keys = [embedding_key(self.embedding_model, dims, t) for t in texts]
        found: dict[str, list[float]] = {}
        if use_cache:
            rows = EmbeddingCache.objects.filter(key__in=set(keys)).values_list("key", "vector")
            found = {k: [float(x) for x in v] for k, v in rows}
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        _count("embed_hit", len(texts) - sum(1 for k in keys if k in missing))
        _count("embed_miss", sum(1 for k in keys if k in missing))
        if missing:
            fresh = self._embed_now(list(missing.values()), dims, world_id, agent)
            made = dict(zip(missing, fresh, strict=True))
            found.update(made)
            if use_cache:
                EmbeddingCache.objects.bulk_create(
                    [EmbeddingCache(key=k, vector=v) for k, v in made.items()],
                    ignore_conflicts=True,
                )
        return [found[k] for k in keys]

    def _embed_now(
        self, texts: list[str], dims: int, world_id: int | None, agent: str
    ) -> list[list[float]]:
        kwargs = {"dimensions": dims} if self.embedding_model.startswith("text-embedding-3") else {}

        def request():
            return self.api.embeddings.create(model=self.embedding_model, input=texts, **kwargs)

        response, started = self._send("embed", world_id, agent, request)
        tokens = _reported(response.usage, "prompt_tokens")
        if tokens is None:
            tokens = sum(len(t) // 4 for t in texts)
        self._record("embed", self.embedding_model, world_id, agent, started, tokens, 0)
        return [fit(item.embedding, dims) for item in sorted(response.data, key=lambda d: d.index)]

    # -- bookkeeping ---------------------------------------------------------------------

    def _check(self, world_id: int | None, over_budget: bool = False) -> None:
        if not budget.configured():
            raise ModelUnavailable("no model configured")
        if not over_budget and not budget.budget_left(world_id):
            raise ModelUnavailable("today's token budget is spent")
        refused = budget.admit()  # last: it may claim the probe of a provider marked down
        if refused:
            raise ModelUnavailable(refused)

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

    def _failed(
        self, purpose, world_id, agent, started, exc: Exception, counts: bool = True
    ) -> bool:
        """Record a failed call; returns whether the provider is now marked down."""
        log.warning("model call %s failed: %s", purpose, exc)
        model = self.embedding_model if purpose == "embed" else self.model
        self._record(purpose, model, world_id, agent, started, 0, 0, ok=False, error=str(exc))
        return counts and budget.call_failed(f"{type(exc).__name__}: {exc}")


# -- caches ------------------------------------------------------------------------------


def _count(what: str, n: int = 1) -> None:
    if n:
        with _stats_lock:
            stats[what] += n


def embedding_key(model: str, dims: int, text: str) -> str:
    """The embedding cache's key: a hash of (embedding model, dimensions, text)."""
    return hashlib.sha256(f"{model}\x00{dims}\x00{text}".encode()).hexdigest()


def chat_key(model: str, messages: list[dict], max_tokens: int, extra: dict) -> str:
    """The chat cache's key: a hash of everything the provider is sent."""
    raw = json.dumps([model, messages, max_tokens, extra], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def chat_window() -> float:
    """Seconds an answer is reused for the same request (0: the chat cache is off)."""
    return float(getattr(settings, "MIND_CHAT_CACHE_SECONDS", 300))


def cached_chat(key: str) -> str | None:
    """The answer given to this request within the window, if any."""
    from agents.models import ChatCache

    window = chat_window()
    if window <= 0:
        return None
    since = timezone.now() - dt.timedelta(seconds=window)
    content = (
        ChatCache.objects.filter(key=key, created__gte=since)
        .values_list("content", flat=True)
        .first()
    )
    _count("chat_hit" if content is not None else "chat_miss")
    return content


def keep_chat(key: str, content: str) -> None:
    """Keep a good answer for the window (and now and then drop the expired ones)."""
    from agents.models import ChatCache

    window = chat_window()
    if window <= 0:
        return
    now = timezone.now()
    ChatCache.objects.update_or_create(key=key, defaults={"content": content, "created": now})
    if time.monotonic() - _pruned[0] >= CHAT_CACHE_PRUNE_EVERY:
        _pruned[0] = time.monotonic()
        ChatCache.objects.filter(created__lt=now - dt.timedelta(seconds=window)).delete()


def forget_chat(key: str) -> None:
    """A cached answer that no longer validates is not given again."""
    from agents.models import ChatCache

    ChatCache.objects.filter(key=key).delete()


def _counts(exc: openai.OpenAIError) -> bool:
    """Does this failure say something about the provider (not just about this request)?"""
    status = getattr(exc, "status_code", None)
    return status is None or status not in (400, 413, 422)


def retry_after(response: Any, default: float = 1.0, longest: float = 300.0) -> float:
    """Seconds a 429 asks us to wait: retry-after-ms, else Retry-After (seconds or a date)."""
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return min(longest, max(0.0, float(headers["retry-after-ms"]) / 1000))
        value = headers.get("retry-after")
        if value:
            try:
                return min(longest, max(0.0, float(value)))
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                return min(longest, max(0.0, when.timestamp() - time.time()))
    except (TypeError, ValueError):
        pass  # a header we cannot read: the default wait
    return default


def _reported(usage: Any, field: str) -> int | None:
    value = getattr(usage, field, None)
    return value if isinstance(value, int) and value >= 0 else None


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
