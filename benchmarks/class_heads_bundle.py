"""A bundle from a class-heads prior fine-tuned by ``mixture_head_probe.py --save-state`` (issue 18).

    python benchmarks/class_heads_bundle.py --data-root MNIST_DIR --bundle trained_models/mnist-transformer \\
        --state runs/mixF/state.safetensors --probe-json runs/mixF/out.json --out runs/mnist-heads

Takes the VQ-VAE, examples and data settings of ``--bundle`` (the transformer whose trunk the probe
started from), puts the state into a :class:`~explorer.core.models.class_heads.ClassHeadsTransformerPrior`
of the same trunk with one head per class, measures its held-out NLL (the last 1 000 digits) and
writes the bundle (float16 weights) with the probe's command, log and timing as its prior history.

States written by the probe before it used the core class (keys ``trunk.*``, ``heads.*``,
``log_pi``) are renamed: trunk.X -> X, heads.Y -> head.Y, log_pi -> log_class_prior.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file

from explorer.core.bundle import load_bundle
from explorer.core.data import DataConfig, load_data
from explorer.core.metrics import encode_images, evaluate_prior
from explorer.core.models.prior import build_prior


def core_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The probe's earlier key names mapped onto the core class's (see the module docstring)."""
    out = {}
    for name, tensor in state.items():
        if name.startswith("trunk."):
            name = name.removeprefix("trunk.")
        elif name.startswith("heads."):
            name = "head." + name.removeprefix("heads.")
        elif name == "log_pi":
            name = "log_class_prior"
        out[name] = tensor
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--bundle", required=True, help="the bundle whose transformer the probe started from")
    ap.add_argument("--state", required=True, help="the probe's --save-state file")
    ap.add_argument("--probe-json", required=True, help="the probe's printed JSON (its command, steps and log)")
    ap.add_argument("--probe-command", required=True, help="the probe's command line, as run")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    bundle = load_bundle(args.bundle, "cpu")
    base = bundle.prior
    prior = build_prior(replace(base.config, class_heads=args.classes))
    state = core_layout(load_file(args.state))
    prior.load_state_dict({k: v.half().float() for k, v in state.items()}, strict=True)   # as the float16 files hold it
    prior.eval()
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    held = evaluate_prior(prior, encode_images(bundle.vqvae, data.val.images))
    probe = json.loads(Path(args.probe_json).read_text())
    bundle.prior = prior
    bundle.weights_dtype = "float16"
    bundle.metrics = {**bundle.metrics, "prior_nll": held["nll"], "prior_bits_per_latent": held["nll"] / math.log(2),
                      "prior_accuracy": held["accuracy"]}
    probe_command = args.probe_command.replace(args.data_root, "MNIST_DIR")
    this = (f"python benchmarks/class_heads_bundle.py --data-root MNIST_DIR --bundle {args.bundle} --state STATE "
            f"--probe-json PROBE_JSON --probe-command '...' --out {args.out}")   # STATE: the probe's --save-state
    before = (bundle.history or {}).get("prior") or {}
    bundle.history = {**bundle.history, "prior": {
        "continued_from": [{"bundle": Path(args.bundle).name, "seconds": before.get("seconds", 0),
                            "command": before.get("command"), "steps": before.get("steps")}],
        "command": probe_command, "bundle_command": this, "steps": probe["steps"], "seconds": round(probe["minutes"] * 60),
        "device": f"cpu ({probe['threads']} thread)", "label_weight": probe["supervised"],
        "started_from": f"the transformer prior of {Path(args.bundle).name}",
        "validation": "the last 500 of the first 9 000 digits", "early_stopping_val_nll": probe["early_stopping"],
        "kept": probe["keep"], "log": probe["log"]}}
    bundle.data = {**bundle.data, "root": None}
    bundle.name = Path(args.out).name
    bundle.save(args.out)
    loaded = load_bundle(args.out, "cpu").prior
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), prior.state_dict().values()))
    print(json.dumps({"heldout_nll": held["nll"], "heldout_bits_per_digit": held["nll"] * 49 / math.log(2),
                      "heldout_accuracy": held["accuracy"],
                      "parameters": sum(p.numel() for p in prior.parameters())}, indent=2))


if __name__ == "__main__":
    main()
