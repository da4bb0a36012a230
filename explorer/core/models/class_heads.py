"""A transformer prior with one output head per class, mixed: an unconditional prior that draws
like a class-conditional one, at the unconditional prior's cost.

    p(z) = sum_c pi_c prod_t p_c(z_t | z_<t),   p_c(. | z_<t) = softmax(W_c h_t + b_c)

The trunk h_t (:class:`~explorer.core.models.transformer_prior.TransformerPrior` up to its final
norm) never sees the class, so one teacher-forced pass serves all C heads and the exact marginal
likelihood costs one pass. pi is the classes' frequency in the training labels (a buffer).

The mixture is again an exact autoregressive model (notes, "PixelCNN": log p(z) is the sum of the
conditionals), whose conditional at t is the heads' conditionals weighted by how well each head
explained the codes before t:

    p(z_t | z_<t) = sum_c w_c(t) p_c(z_t | z_<t),   w_c(t) = pi_c prod_{s<t} p_c(z_s | z_<s) / (same, summed over c)

``logits`` returns log p(z_t | z_<t), so the raster sampler, the scores and the ``.dlc`` coder use
it unchanged. Drawing from these conditionals in raster order is drawing c ~ pi, then z from head c.
Training (``PriorTrainConfig.label_weight`` = w) minimises, per latent,
w (-log p_y(z)) + (1 - w) (-log p(z)) for the image's label y: without the label term the heads
do not become the classes (``benchmarks/README.md``, "A mixture of class heads").

Given ``labels``, ``logits`` and the cached evaluator return head y's conditionals instead:
p(z | y) = prod_t p_y(z_t | z_<t), the prior read as a class-conditional one.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .prior import PriorConfig, register_prior_kind
from .transformer_prior import TransformerPrior, _TransformerIncremental, transformer_state_size


def picked_log_probs(class_log_probs: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """log p_c(z_t | z_<t) of the codes themselves: (B, C, T, K) per-class log-probs and the (B, T)
    codes -> (B, C, T)."""
    target = codes.reshape(codes.shape[0], 1, -1, 1).expand(-1, class_log_probs.shape[1], -1, 1)
    return class_log_probs.gather(3, target).squeeze(3)


def mixture_conditionals(class_log_probs: torch.Tensor, codes: torch.Tensor,
                         log_pi: torch.Tensor) -> torch.Tensor:
    """log p(z_t = k | z_<t) of the mixture for every position: (B, C, T, K) per-class log-probs and
    the (B, T) codes -> (B, T, K). The weights at t come from the codes before t only."""
    picked = picked_log_probs(class_log_probs, codes)                        # (B, C, T)
    explained = picked.cumsum(2) - picked                                    # (B, C, T): sum over s < t
    scores = log_pi[None, :, None] + explained                               # log pi_c prod_{s<t} p_c(z_s)
    log_w = scores - scores.logsumexp(1, keepdim=True)                       # (B, C, T)
    return (log_w[..., None] + class_log_probs).logsumexp(1)                 # (B, T, K)


class ClassHeadsTransformerPrior(TransformerPrior):
    """:class:`TransformerPrior` whose head gives C conditionals, one per class (``config.class_heads``)."""

    def __init__(self, config: PriorConfig) -> None:
        super().__init__(config)
        c = config
        self.head = nn.Linear(c.channels, c.class_heads * c.num_codes)        # d -> (C, K), class-major
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)
        # log pi_c, set from the training labels (``set_class_prior``); read through log_softmax, so any
        # finite values a file holds make a distribution.
        self.register_buffer("log_class_prior", torch.zeros(c.class_heads))

    def set_class_prior(self, labels: torch.Tensor) -> None:
        """pi = the frequency of each class among ``labels`` (every class at least once)."""
        counts = torch.bincount(labels.long().cpu(), minlength=self.config.class_heads)[:self.config.class_heads]
        with torch.no_grad():
            self.log_class_prior.copy_(counts.float().clamp(min=1).log())

    def log_pi(self) -> torch.Tensor:
        """(C,) log pi_c, normalised."""
        return F.log_softmax(self.log_class_prior.float(), dim=0)

    def class_log_probs_from_embedding(self, e: torch.Tensor) -> torch.Tensor:
        """(B, d, H, W) embedded codes -> (B, C, HW, K): log p_c(z_t = k | z_<t) for every head c."""
        b = e.shape[0]
        c, k = self.config.class_heads, self.config.num_codes
        logits = self.head(self.features(e)).view(b, -1, c, k)                # (B, HW, C, K)
        return F.log_softmax(logits, dim=-1).transpose(1, 2)                  # (B, C, HW, K)

    def class_log_probs(self, codes: torch.Tensor) -> torch.Tensor:
        return self.class_log_probs_from_embedding(self.embed(codes).permute(0, 3, 1, 2))

    def logits_from_embedding(self, e: torch.Tensor, labels: torch.Tensor | None = None,
                              codes: torch.Tensor | None = None) -> torch.Tensor:
        """The mixture's log p(z_t | z_<t), (B, K, H, W); with ``labels``, head y's. The mixture's
        weights read the codes themselves: ``codes`` (B, H, W) is the grid e embeds."""
        b, _, h, w = e.shape
        lp = self.class_log_probs_from_embedding(e)                           # (B, C, HW, K)
        if labels is not None:
            out = lp[torch.arange(b, device=lp.device), labels.long()]        # (B, HW, K)
        else:
            if codes is None:
                raise ValueError("a class-heads prior's mixture needs the codes e embeds")
            out = mixture_conditionals(lp, codes.reshape(b, h * w), self.log_pi())
        return out.transpose(1, 2).reshape(b, -1, h, w)                       # (B, K, H, W)

    def nll_per_class(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, H, W) -> (B, C): -log p_c(z) in nats, every head in one pass."""
        return -picked_log_probs(self.class_log_probs(codes), codes).sum(2)

    def marginal_nll(self, nll_c: torch.Tensor) -> torch.Tensor:
        """(B, C) per-class NLLs -> (B,): -log p(z) = -log sum_c pi_c p_c(z) in nats."""
        return -torch.logsumexp(self.log_pi() - nll_c, dim=1)

    @torch.no_grad()
    def class_belief(self, codes: torch.Tensor, t: int) -> torch.Tensor:
        """(B, H, W) grids, raster position t -> (B, C): the mixture's weights w_c(t) = p(c | z_<t),
        which class the prior is drawing, judged from the first t codes (pi at t = 0). Cells at t
        and after are ignored, whatever they hold (-1 where nothing is drawn yet)."""
        codes = codes.clone()
        codes.view(codes.shape[0], -1)[:, t:] = 0                             # causal: never read
        explained = picked_log_probs(self.class_log_probs(codes), codes)[:, :, :t].sum(2)   # (B, C)
        return torch.softmax(self.log_pi() + explained, dim=1)

    def training_loss(self, codes: torch.Tensor, labels: torch.Tensor, label_weight: float) -> torch.Tensor:
        """Per latent: w (-log p_y(z)) + (1 - w) (-log p(z)), averaged over the batch (module docstring)."""
        nll_c = self.nll_per_class(codes)                                     # (B, C)
        given = nll_c.gather(1, labels.long()[:, None]).squeeze(1)
        return (label_weight * given + (1 - label_weight) * self.marginal_nll(nll_c)).mean() / codes[0].numel()

    def forward(self, codes: torch.Tensor, labels: torch.Tensor | None = None,
                label_weight: float | None = None) -> torch.Tensor:
        """``logits``; with ``label_weight``, the training loss (called through the module, so a
        distributed wrapper sees it)."""
        if label_weight is None:
            return self.logits(codes, labels)
        if labels is None:
            raise ValueError("training a class-heads prior needs the images' labels")
        return self.training_loss(codes, labels, label_weight)

    def incremental(self, grid: torch.Tensor, labels: torch.Tensor | None,
                    revision: int = 2) -> "_ClassHeadsIncremental":
        if revision != 2:
            raise ValueError(f"a class-heads prior has only cached evaluator revision 2, not {revision}")
        return _ClassHeadsIncremental(self, grid, labels)


class _ClassHeadsIncremental(_TransformerIncremental):
    """The transformer's key/value cache; its head gives the C heads' log-probabilities (n, C, K),
    and the evaluator carries each head's running log-likelihood of the codes committed so far, the
    mixture's weights. ``logits_of`` equals ``logits_at``/``commit`` in raster order bit for bit."""

    def __init__(self, net: ClassHeadsTransformerPrior, grid: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.given = labels.long().expand(grid.shape[0]) if labels is not None else None
        self.classes = net.config.class_heads
        super().__init__(net, grid, None)                                     # the trunk never sees the class
        with torch.inference_mode():
            self.scores = net.log_pi().expand(grid.shape[0], -1).clone()      # (n, C): log pi_c prod_{s<t} p_c
        self.last: tuple[int, torch.Tensor] | None = None                    # (t, its (n, C, K) log-probs)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        logits = super()._head(x).view(self.n, self.classes, -1)                         # (n, C, K)
        return F.log_softmax(logits, dim=-1)

    def _mix(self, lp: torch.Tensor) -> torch.Tensor:
        """(n, C, K) heads' log-probs -> (n, K): the mixture's conditional (head y's, given labels)."""
        if self.given is not None:
            return lp[torch.arange(self.n, device=lp.device), self.given]
        log_w = self.scores - self.scores.logsumexp(1, keepdim=True)                     # (n, C)
        return (log_w[:, :, None] + lp).logsumexp(1)

    def _explain(self, lp: torch.Tensor, codes: torch.Tensor) -> None:
        """Add log p_c(code) of every head to its running score."""
        self.scores = self.scores + lp.gather(2, codes[:, None, None].expand(-1, self.classes, 1)).squeeze(2)

    def logits_at(self, i: int, j: int) -> torch.Tensor:
        lp = super().logits_at(i, j)                                                      # (n, C, K)
        self.last = (i * self.w + j, lp)
        with torch.inference_mode():
            return self._mix(lp)

    def commit(self, i: int, j: int, codes: torch.Tensor) -> None:
        t = i * self.w + j
        if self.last is None or self.last[0] != t:
            raise ValueError(f"commit at raster position {t} needs its logits_at first")
        with torch.inference_mode():
            self._explain(self.last[1], codes)
        super().commit(i, j, codes)

    def logits_of(self, codes: torch.Tensor) -> torch.Tensor:
        lps = super().logits_of(codes)                                                    # (HW, n, C, K)
        flat = codes.reshape(codes.shape[0], -1)
        out = []
        with torch.inference_mode():
            for t, lp in enumerate(lps):
                out.append(self._mix(lp))
                self._explain(lp, flat[:, t])
        self.last = None
        return torch.stack(out)                                                           # (HW, n, K)


def build_transformer(config: PriorConfig) -> TransformerPrior:
    """The "transformer" kind: with ``class_heads`` > 0, the mixture of class heads."""
    return ClassHeadsTransformerPrior(config) if config.class_heads else TransformerPrior(config)


register_prior_kind("transformer", build_transformer, transformer_state_size)
