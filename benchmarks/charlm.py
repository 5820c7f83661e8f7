"""A real scaling problem on CPU: a character-level transformer on the Shakespeare corpus, in μP
or in standard parametrisation (SP), for the scaling-prior benchmark (issue 13: V1, V3-V5).

:class:`CharTransformer` is a pre-LayerNorm decoder (``depth`` blocks of causal self-attention and
a 4x MLP) whose width multiplier is ``m = width / base_width``; heads have a fixed size
(``head_dim``), so wider models have more heads. The parametrisations differ only in these
places (Tensor Programs V, Table 3, Adam; algorithms.md §5.1), and coincide at ``base_width``:

=================================  ==========================  ===============  ==============
tensor                             init                        Adam LR (μP)     forward (μP)
=================================  ==========================  ===============  ==============
token / position embeddings        ``N(0, 1)``                 ``η``            1
hidden matrices (q, k, v, o, MLP)  ``N(0, 1/fan_in)``          ``η / m``        1
LayerNorm gains / biases           1 / 0                       ``η``            1
readout (unembedding)              zero (μP), ``N(0, 1/fan_in)``  ``η``         ``1 / m``
=================================  ==========================  ===============  ==============

SP uses one ``η`` for every tensor and no readout multiplier. Attention logits are scaled by
``1 / head_dim`` in μP (``1 / sqrt(head_dim)`` in SP); with a fixed head size this is a constant
factor, kept so the model is μP as written. Training: AdamW (β = 0.9, 0.95, no weight decay),
linear warm-up over the first 10% of steps, then cosine decay to 10% of ``η``; batches of
``batch`` windows of ``context`` characters drawn by a seeded numpy generator; the loss is the
mean cross-entropy (nats per character) on a fixed held-out set. Everything random comes from
the run's seed, so a (config, seed) gives the same loss on every machine with this torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from benchmarks.data import data_path
from hpo.errors import HPOError

PARAMETRIZATIONS = ("mup", "sp")
VAL_CHARS = 200_000  # the last characters of the corpus, never trained on


class CharLMError(HPOError, ValueError):
    """A bad argument to the character-level transformer benchmark."""


@lru_cache(maxsize=1)
def corpus() -> tuple[np.ndarray, int]:
    """The Shakespeare corpus as int64 character ids (files in name order) and the vocab size."""
    folder = data_path("corpora", "shakespeare")
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(folder.glob("*.txt")))
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    return np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text)), len(chars)


class Block(nn.Module):
    def __init__(self, width: int, head_dim: int, mup: bool) -> None:
        super().__init__()
        self.heads, self.head_dim = width // head_dim, head_dim
        self.scale = 1.0 / head_dim if mup else 1.0 / math.sqrt(head_dim)
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, self.head_dim).unbind(2)
        att = nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True,
            scale=self.scale)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, w))
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x))))


class CharTransformer(nn.Module):
    """A decoder-only character model in μP or SP (see the module doc)."""

    def __init__(self, vocab: int, width: int, *, depth: int = 2, context: int = 64,
                 head_dim: int = 16, base_width: int = 32, parametrization: str = "mup",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise CharLMError(f"unknown parametrization {parametrization!r}; choose one of "
                              f"{list(PARAMETRIZATIONS)}")
        for label, value in (("width", width), ("depth", depth), ("context", context),
                             ("head_dim", head_dim), ("base_width", base_width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CharLMError(f"CharTransformer {label} must be an int >= 1, got {value!r}")
        if width % head_dim:
            raise CharLMError(f"width {width} is not a multiple of head_dim {head_dim}")
        self.parametrization, self.width, self.base_width = parametrization, width, base_width
        mup = parametrization == "mup"
        with torch.random.fork_rng(devices=[]):  # torch's default init draws (then replaced)
            self.tokens = nn.Embedding(vocab, width)
            self.positions = nn.Embedding(context, width)
            self.blocks = nn.ModuleList(Block(width, head_dim, mup) for _ in range(depth))
            self.ln = nn.LayerNorm(width)
            self.readout = nn.Linear(width, vocab, bias=False)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for emb in (self.tokens, self.positions):
                emb.weight.normal_(0.0, 1.0, generator=generator)
            for layer in self.hidden_linears():
                layer.weight.normal_(0.0, 1.0 / math.sqrt(layer.weight.shape[1]),
                                     generator=generator)
                layer.bias.zero_()
            if mup:
                self.readout.weight.zero_()
            else:
                self.readout.weight.normal_(0.0, 1.0 / math.sqrt(width), generator=generator)

    @property
    def multiplier(self) -> float:
        return self.width / self.base_width

    def hidden_linears(self) -> list[nn.Linear]:
        return [layer for b in self.blocks for layer in (b.qkv, b.proj, b.fc, b.out)]

    def n_params(self) -> int:
        """Non-embedding parameters (the N of 6·N·D)."""
        skip = {id(self.tokens.weight), id(self.positions.weight)}
        return sum(p.numel() for p in self.parameters() if id(p) not in skip)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tokens(idx) + self.positions(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        x = self.ln(x)
        if self.parametrization == "mup":
            x = x / self.multiplier
        return self.readout(x)


def optimizer(model: CharTransformer, lr: float) -> torch.optim.AdamW:
    """AdamW with μP's per-tensor learning rates (one ``lr`` for SP)."""
    hidden = [layer.weight for layer in model.hidden_linears()]
    if model.parametrization == "sp":
        groups = [{"params": list(model.parameters()), "lr": lr}]
    else:
        ids = {id(p) for p in hidden}
        groups = [{"params": [p for p in model.parameters() if id(p) not in ids], "lr": lr},
                  {"params": hidden, "lr": lr / model.multiplier}]
    for g in groups:
        g["base_lr"] = g["lr"]
    return torch.optim.AdamW(groups, betas=(0.9, 0.95), weight_decay=0.0)


@dataclass(frozen=True)
class RunSpec:
    """One training run: width, parametrisation, log2 learning rate, steps, seed."""

    width: int
    parametrization: str
    log2_lr: float
    steps: int
    seed: int
    depth: int = 2
    batch: int = 32
    context: int = 64


def train(spec: RunSpec, *, eval_every: int | None = None) -> dict[str, object]:
    """Train one run; returns its held-out loss (nats / char), curve, FLOPs and seconds.

    A diverged run (non-finite training loss) stops early with loss ``inf`` and
    ``diverged: True``.
    """
    import time

    if spec.steps < 1 or spec.batch < 1:
        raise CharLMError(f"steps and batch must be >= 1, got {spec.steps}, {spec.batch}")
    data, vocab = corpus()
    train_ids, val_ids = data[:-VAL_CHARS], data[-VAL_CHARS:]
    rng = np.random.default_rng([spec.seed, spec.width, 7])
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    model = CharTransformer(vocab, spec.width, depth=spec.depth, context=spec.context,
                            parametrization=spec.parametrization, generator=gen)
    opt = optimizer(model, 2.0 ** spec.log2_lr)
    warm = max(1, spec.steps // 10)
    val = _windows(val_ids, np.random.default_rng(12345), 64, spec.context)
    curve: list[tuple[int, float]] = []
    start, diverged = time.perf_counter(), False
    for step in range(spec.steps):
        frac = (step + 1) / warm if step < warm else \
            0.1 + 0.45 * (1 + math.cos(math.pi * (step - warm) / max(1, spec.steps - warm)))
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * frac
        x, y = _windows(train_ids, rng, spec.batch, spec.context)
        loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        if not torch.isfinite(loss):
            diverged = True
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if eval_every and (step + 1) % eval_every == 0 and step + 1 < spec.steps:
            curve.append((step + 1, evaluate(model, val, vocab)))
    final = math.inf if diverged else evaluate(model, val, vocab)
    if not math.isfinite(final):
        final, diverged = math.inf, True
    curve.append((spec.steps, final))
    tokens = spec.steps * spec.batch * spec.context
    return {"width": spec.width, "parametrization": spec.parametrization,
            "log2_lr": spec.log2_lr, "steps": spec.steps, "seed": spec.seed,
            "depth": spec.depth, "loss": final, "diverged": diverged, "curve": curve,
            "params": model.n_params(), "tokens": tokens,
            "flops": 6.0 * model.n_params() * tokens, "seconds": time.perf_counter() - start}


def _windows(ids: np.ndarray, rng: np.random.Generator, n: int,
             context: int) -> tuple[torch.Tensor, torch.Tensor]:
    starts = rng.integers(0, len(ids) - context - 1, size=n)
    block = np.stack([ids[s:s + context + 1] for s in starts])
    return torch.from_numpy(block[:, :-1]), torch.from_numpy(block[:, 1:])


@torch.no_grad()
def evaluate(model: CharTransformer, val: tuple[torch.Tensor, torch.Tensor], vocab: int) -> float:
    x, y = val
    loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
    return float(loss)
