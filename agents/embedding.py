"""Embedders: the model's (through the one client wrapper) and a local hashing embedder.

The hashing embedder needs no model: words and word pairs are hashed into signed buckets and
the vector is L2-normalised, so texts sharing content words have a high cosine similarity.
It keeps retrieval meaningful offline and in tests. Vectors from different embedders are not
comparable, so every memory records which embedder made its vector.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from functools import lru_cache

import numpy as np
from django.conf import settings

HASH_EMBEDDER = "hash-v1"
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = """a an the and or but if of to in on at by for with from about as is are was were be been
    am i you he she it we they me him her us them my your his its our their this that these
    those what which who whom do does did have has had will would can could should shall may
    might must not no so than then there here just very too also into over up down out off
    some any all each much many more most such own same other only s t don isn yes oh hi hello
    think know like really well said say says tell told"""
_STOP = frozenset(_STOP_WORDS.split())


def words(text: str) -> list[str]:
    """Content words, lower-cased, with a crude plural/verb stem so 'bakeries' ~ 'bakery'."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in _STOP or len(w) < 2:
            continue
        for suffix in ("ies", "ing", "ed", "es", "s"):
            if len(w) > len(suffix) + 2 and w.endswith(suffix):
                w = w[: -len(suffix)] + ("y" if suffix == "ies" else "")
                break
        out.append(w)
    return out


@lru_cache(maxsize=65536)
def _bucket(token: str, dims: int) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dims, 1.0 if (value >> 63) & 1 else -1.0


def hash_embed(text: str, dims: int | None = None) -> list[float]:
    """A deterministic bag-of-words vector for `text` (unit length, or zero if it has no words)."""
    dims = dims or settings.EMBEDDING_DIMENSIONS
    vec = np.zeros(dims, dtype=np.float32)
    tokens = words(text)
    for token in tokens:
        i, sign = _bucket(token, dims)
        vec[i] += sign
    for pair in itertools.pairwise(tokens):
        i, sign = _bucket(" ".join(pair), dims)
        vec[i] += 0.5 * sign
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        vec[0] = 1.0  # pgvector cannot take cosine distances of zero vectors
        return vec.tolist()
    return (vec / norm).tolist()


def cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom else 0.0


def fit(vec: list[float], dims: int) -> list[float]:
    """A provider vector cut or padded to our column width, renormalised."""
    arr = np.zeros(dims, dtype=np.float32)
    n = min(dims, len(vec))
    arr[:n] = vec[:n]
    norm = float(np.linalg.norm(arr))
    return (arr / norm).tolist() if norm else hash_embed("", dims)


class Embedder:
    """Turns texts into vectors; `name` is stored with each memory."""

    name = HASH_EMBEDDER

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [hash_embed(t) for t in texts]


class ModelEmbedder(Embedder):
    """Embeddings from EMBEDDING_MODEL through the client wrapper (recorded and budgeted)."""

    def __init__(self, client, world_id: int | None, agent: str = "") -> None:
        self.client, self.world_id, self.agent = client, world_id, agent
        self.name = f"model:{settings.EMBEDDING_MODEL}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.client.embed(texts, world_id=self.world_id, agent=self.agent)
