"""Fine-tunes a mixture of class heads on a transformer prior's trunk (issue 18; this trained the
shipped `mnist` prior from `mnist-transformer`'s):

    p(z) = sum_c pi_c prod_t p_c(z_t | z_<t),   p_c(. | z_<t) = softmax(W_c h_t + b_c)

The model is :class:`~explorer.core.models.class_heads.ClassHeadsTransformerPrior`: the trunk h_t
does not see the class, so one teacher-forced pass serves all ten heads, and the exact marginal
likelihood costs one pass. Its samples come from the app's raster sampler (the cached evaluator),
which is drawing c ~ pi, then the codes with head c.

    python benchmarks/mixture_head_probe.py --data-root MNIST_DIR --bundle trained_models/mnist-transformer \
        --judge runs/judge_oe.safetensors --minutes 65 --lr 1e-3 --supervised 0.8 --keep last \
        --save-state runs/heads.safetensors

Starts from the bundle's transformer (every head = its head, plus ``--head-noise``), trains trunk and
heads on 8 500 of the first 9 000 digits and their +-1 px shifts with the loss w (-log p_c(z) for
the digit's label) + (1 - w) (-log p(z)), per latent, w = ``--supervised``; keeps the state with
the best marginal NLL on the other 500 (``--keep best``) or the last one. Prints JSON:
held-out marginal NLL (the rate), the NLL given the true label, 500 samples at T = 1 (seeds 0-9)
read by the digit judge, and teacher-forced speed beside the starting prior's. ``--save-state``
keeps the weights; ``benchmarks/class_heads_bundle.py`` makes a bundle of them.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_priors import timed                                   # noqa: E402
from digit_judge import load_or_train_judge, read_as_digit  # noqa: E402

from explorer.core.bundle import load_bundle                     # noqa: E402
from explorer.core.data import DataConfig, load_data             # noqa: E402
from explorer.core.metrics import encode_images                  # noqa: E402
from explorer.core.models.class_heads import ClassHeadsTransformerPrior   # noqa: E402
from explorer.core.models.prior import build_prior               # noqa: E402
from explorer.core.models.transformer_prior import TransformerPrior   # noqa: E402
from explorer.core.training import encode_for_prior              # noqa: E402


def start_from(shipped: TransformerPrior, labels: torch.Tensor, classes: int, noise: float) -> ClassHeadsTransformerPrior:
    """A class-heads prior whose trunk is ``shipped``'s and whose every head starts as its head
    (plus ``noise``, to break the heads' symmetry); pi = the labels' class frequencies."""
    model = build_prior(replace(shipped.config, class_heads=classes))
    state = {k: v for k, v in shipped.state_dict().items() if not k.startswith("head.")}
    state["head.weight"] = shipped.head.weight.detach().repeat(classes, 1)
    state["head.bias"] = shipped.head.bias.detach().repeat(classes)
    state["log_class_prior"] = model.log_class_prior
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        model.head.weight.add_(noise * torch.randn_like(model.head.weight))
    model.set_class_prior(labels)
    return model


def evaluate(model: ClassHeadsTransformerPrior, codes: torch.Tensor, labels: torch.Tensor) -> dict:
    model.eval()
    with torch.no_grad():
        nll_c = torch.cat([model.nll_per_class(b) for b in codes.split(500)])
    latents = codes[0].numel()
    marginal = model.marginal_nll(nll_c).mean().item() / latents
    given = nll_c.gather(1, labels[:, None]).mean().item() / latents
    posterior_right = (nll_c.argmin(1) == labels).float().mean().item()
    return {"marginal_nats_per_latent": round(marginal, 4), "given_label_nats_per_latent": round(given, 4),
            "marginal_bits_per_digit": round(marginal * latents / math.log(2), 2),
            "head_with_lowest_nll_is_the_label": round(posterior_right, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--bundle", default="trained_models/mnist-transformer")
    ap.add_argument("--judge", required=True)
    ap.add_argument("--minutes", type=float, default=35.0)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--val", type=int, default=500)
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--per-seed", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--supervised", type=float, default=0.5,
                    help="weight of -log p_c(z) for the digit's label (the rest: the marginal -log p(z))")
    ap.add_argument("--head-noise", type=float, default=0.0, help="std of noise added to the heads' start")
    ap.add_argument("--keep", choices=("best", "last"), default="best",
                    help="the state with the best early-stopping marginal NLL, or the last one")
    ap.add_argument("--save-state", default=None,
                    help="write the kept state (safetensors, a ClassHeadsTransformerPrior's) to this file; "
                         "benchmarks/class_heads_bundle.py makes a bundle of it")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    bundle = load_bundle(args.bundle, "cpu")
    vqvae, shipped = bundle.vqvae.eval(), bundle.prior.eval()
    n_fit = len(data.train) - args.val
    with torch.no_grad():
        train_codes = encode_for_prior(vqvae, data.train.images[:n_fit], 1)               # (9 n_fit, H, W)
    train_labels = data.train.labels[:n_fit].repeat(train_codes.shape[0] // n_fit)
    val_codes, val_labels = encode_images(vqvae, data.train.images[n_fit:]), data.train.labels[n_fit:]
    held_codes, held_labels = encode_images(vqvae, data.val.images), data.val.labels
    model = start_from(shipped, data.train.labels[:n_fit], 10, args.head_noise)
    start = evaluate(model, val_codes, val_labels)
    print(json.dumps({"start": start}), file=sys.stderr, flush=True)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(0)
    best, step, t0, log = (start["marginal_nats_per_latent"], 0, copy.deepcopy(model.state_dict())), 0, \
        time.perf_counter(), []
    while time.perf_counter() - t0 < args.minutes * 60:
        progress = (time.perf_counter() - t0) / (args.minutes * 60)
        for group in opt.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))
        idx = torch.randint(0, train_codes.shape[0], (args.batch_size,), generator=gen)
        model.train()
        loss = model(train_codes[idx], train_labels[idx], label_weight=args.supervised)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % args.val_every == 0:
            ev = evaluate(model, val_codes, val_labels)
            log.append({"step": step, "seconds": round(time.perf_counter() - t0), **ev})
            print(json.dumps(log[-1]), file=sys.stderr, flush=True)
            if ev["marginal_nats_per_latent"] < best[0]:
                best = (ev["marginal_nats_per_latent"], step, copy.deepcopy(model.state_dict()))
    if args.keep == "best":
        model.load_state_dict(best[2])
    model.eval()
    if args.save_state:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.save_state)
    result = {"bundle": args.bundle, "supervised": args.supervised, "head_noise": args.head_noise, "keep": args.keep,
              "steps": step, "best_step": best[1], "minutes": args.minutes,
              "threads": args.threads, "early_stopping": best[0], "heldout": evaluate(model, held_codes, held_labels),
              "parameters": sum(p.numel() for p in model.parameters()),
              "shipped_parameters": sum(p.numel() for p in shipped.parameters())}
    judge, _ = load_or_train_judge(Path(args.judge), data)
    shares, asked = [], []
    for seed in range(args.seeds):
        grids = model.sample(args.per_seed, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            head = model.nll_per_class(grids).argmin(1)                      # the head that explains it best
        sure, cls = read_as_digit(judge, vqvae.decode(grids))
        shares.append(sure.float().mean().item())
        asked.append((sure & (cls == head)).float().mean().item())
    result["samples"] = {"n": args.seeds * args.per_seed, "share_read_as_digit": round(sum(shares) / len(shares), 3),
                         "by_seed": [round(s, 3) for s in shares],
                         "share_read_as_the_most_likely_heads_class": round(sum(asked) / len(asked), 3)}
    with torch.no_grad():
        tf_mix = timed(lambda: [model.nll_per_class(b) for b in held_codes.split(500)], 3)
        tf_shipped = timed(lambda: [shipped.logits(b) for b in held_codes.split(500)], 3)
    result["teacher_forced_images_per_s"] = {"mixture": round(len(held_codes) / tf_mix, 1),
                                             "shipped": round(len(held_codes) / tf_shipped, 1)}
    result["log"] = log
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
