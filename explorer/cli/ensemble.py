"""``ensemble``: one bundle whose prior averages the conditionals of several bundles' priors."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from .common import (PRIOR_METRICS, CliError, add_data_flags, check_image_shape, data_config_from, describe_data,
                     prior_metrics)

if TYPE_CHECKING:       # torch and the core load only when the command runs (`--help` stays fast)
    from ..core.bundle import Bundle


def same_vqvae(a: Bundle, b: Bundle) -> bool:
    """True if two bundles hold the same VQ-VAE (config and every tensor), so their codes agree."""
    import torch
    if a.vqvae.config != b.vqvae.config:
        return False
    sa, sb = a.vqvae.state_dict(), b.vqvae.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def run_ensemble(args: argparse.Namespace) -> int:
    """Load the bundles, check they share one VQ-VAE, mix their priors, evaluate, save."""
    from ..core.bundle import Bundle, check_save_target, load_bundle
    from ..core.data import load_data
    from ..core.metrics import encode_images, evaluate_prior
    from ..core.models.ensemble import PriorEnsemble
    if len(args.bundle) < 2:
        raise CliError("give at least two --bundle folders whose priors to combine.")
    check_save_target(args.out)
    bundles = [load_bundle(path, "cpu") for path in args.bundle]
    first = bundles[0]
    for path, bundle in zip(args.bundle, bundles):
        if bundle.prior is None:
            raise CliError(f"{path} has no prior; train one with `python -m explorer train prior --bundle {path}`.")
        if not same_vqvae(first, bundle):
            raise CliError(f"{path} has another VQ-VAE than {args.bundle[0]}: its prior models other codes, "
                           f"so the two cannot be mixed.")
    try:
        prior = PriorEnsemble.of([b.prior for b in bundles])
    except ValueError as exc:
        raise CliError(f"these priors cannot be combined: {exc}.") from None

    prior_data = (first.history.get("prior") or {}).get("data") or first.data
    data_cfg = data_config_from(args, prior_data)
    splits = load_data(data_cfg)
    vq_cfg = first.vqvae.config
    check_image_shape(splits.image_shape, vq_cfg.in_channels, vq_cfg.image_size)
    metrics = dict(first.metrics)
    members = [{"path": str(path), "history": bundle.history.get("prior")}
               for path, bundle in zip(args.bundle, bundles)]
    if len(splits.val):
        codes = encode_images(first.vqvae, splits.val.images)
        labels = splits.val.labels if prior.config.num_classes else None
        for member, bundle in zip(members, bundles):
            member["prior_nll"] = evaluate_prior(bundle.prior, codes, labels)["nll"]
        ev = evaluate_prior(prior, codes, labels)
        metrics.update(prior_metrics(ev))
        print(f"Held-out NLL on {describe_data(data_cfg)} ({len(splits.val)} images), nats/latent: "
              + ", ".join(f"{m['path']} {m['prior_nll']:.4f}" for m in members)
              + f"; ensemble {ev['nll']:.4f}", file=sys.stderr)
    else:                                    # the first member's numbers would mislead
        for key in PRIOR_METRICS:
            metrics.pop(key, None)
    history = dict(first.history)
    history["prior"] = {"command": args.command_line, "ensemble_of": members, "data": data_cfg.to_dict()}
    out = Path(args.out)
    result = Bundle(vqvae=first.vqvae, prior=prior, name=out.name, data=first.data, history=history,
                    metrics=metrics, examples=first.examples, weights_dtype=args.weights_dtype)
    result.save(out)
    print(f"Saved {out}: an ensemble of {prior.config.members} {prior.config.kind} priors"
          + (f", validation NLL {metrics['prior_nll']:.4f} nats/latent" if len(splits.val) else ""))
    return 0


def add_ensemble_parser(sub) -> None:
    p = sub.add_parser("ensemble", help="combine bundles' priors into one that averages their conditionals",
                       description="Write a bundle whose prior averages the conditionals of the given bundles' "
                                   "priors, p(z_ij | z_<ij) = mean_m p_m(z_ij | z_<ij). The bundles must share "
                                   "one VQ-VAE and one prior architecture; the first bundle's VQ-VAE, data "
                                   "settings and examples are kept.")
    p.add_argument("--bundle", action="append", required=True, metavar="DIR",
                   help="a bundle whose prior joins the ensemble (give it twice or more)")
    p.add_argument("--out", required=True, metavar="DIR", help="the new bundle folder")
    p.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32",
                   help="how the weight files store floats (float16 halves them; default float32)")
    add_data_flags(p, "the first bundle's prior data settings")
