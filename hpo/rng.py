"""Seeds and random generators. Nothing here (or anywhere in scaletune) touches a global RNG.

A study has one master seed (drawn from the OS and recorded in the journal when not given).
Components derive independent child seeds from it by name, so adding a component never changes
the random stream of another.

Example:
    >>> a = make_rng(7, "searcher"); b = make_rng(7, "searcher")
    >>> a.random() == b.random()
    True
"""

from __future__ import annotations

import secrets
import zlib

import numpy as np

MAX_SEED = 2**63 - 1


def resolve_seed(seed: int | None) -> int:
    """``seed`` itself, or a fresh OS-random seed when None."""
    if seed is None:
        return secrets.randbits(63)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    seed = int(seed)
    if seed < 0 or seed > MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**63 - 1], got {seed}")
    return seed


def _key(name: str | int) -> int:
    if isinstance(name, int):
        return name
    return zlib.crc32(name.encode("utf-8"))


def derive_seed(seed: int, *names: str | int) -> int:
    """A child seed of ``seed`` for the component path ``names`` (stable across versions)."""
    seq = np.random.SeedSequence(entropy=seed, spawn_key=tuple(_key(n) for n in names))
    return int(seq.generate_state(1, dtype=np.uint64)[0] & MAX_SEED)


def make_rng(seed: int, *names: str | int) -> np.random.Generator:
    """A ``Generator`` for the component path ``names`` under master ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(entropy=seed,
                                                        spawn_key=tuple(_key(n) for n in names)))
