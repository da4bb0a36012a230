"""The argparse tree: gui, train vqvae, train prior, sample, evaluate, ensemble, score, screenshot."""
from __future__ import annotations

import argparse

from ..core.config import Limit
from ..core.device import DEVICE_CHOICES
from .common import (PRIOR_CONFIG, PRIOR_TRAIN_CONFIG, VQVAE_CONFIG, VQVAE_TRAIN_CONFIG, add_data_flags, field_flag,
                     limited)
from .compare_quantizers import add_compare_quantizers_parser
from .compress import add_compress_parsers
from .ensemble import add_ensemble_parser
from .score import add_score_parser

def _max_examples() -> int:
    from ..core.bundle import MAX_EXAMPLES
    return MAX_EXAMPLES


DESCRIPTION = ("Discrete Latent Explorer: train, inspect and teach discrete latent models "
               "(VQ-VAE, PixelCNN priors, Gumbel-Softmax). Without a subcommand the GUI starts.")

EPILOG = """examples:
  python -m explorer train vqvae --data mnist --data-root DIR --out runs/mnist --epochs 20
  python -m explorer train prior --bundle runs/mnist
  python -m explorer sample --bundle runs/mnist --n 64 --out grid.png
  python -m explorer evaluate --bundle runs/mnist
  python -m explorer ensemble --bundle runs/a --bundle runs/b --out runs/ab
  python -m explorer score digits/ --bundle runs/a --method ratio --background runs/b --json
  torchrun --nproc_per_node 2 -m explorer train vqvae ...   (data-parallel)"""


# A copy of explorer.core.models.quantizers_extra.QUANTIZER_KINDS (--help stays free of torch;
# tests/test_quantizer_lab.py checks they agree).
QUANTIZER_KINDS = ("vq", "gumbel", "rotation", "cosine", "factorised", "fsq")
MAX_SAMPLES = 1024                 # sample --n
MAX_LR = 10.0                      # train --lr: far above any useful rate, far below Adam's overflow (1e308 crashed)
MAX_PADDING = 64                   # sample --padding


def _device_flag(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    parser.add_argument("--device", default=default, metavar="NAME",
                        help=f"{', '.join(DEVICE_CHOICES)} or cuda:N (default {default})")


def _schedule_flags(parser: argparse.ArgumentParser, what: str, cls) -> None:
    g = parser.add_argument_group("optimisation")
    g.add_argument("--epochs", type=field_flag(cls, "epochs"), help=f"passes over the {what} (fractions allowed)")
    g.add_argument("--max-steps", type=field_flag(cls, "max_steps"),
                   help="train exactly this many steps instead of --epochs")
    g.add_argument("--batch-size", type=field_flag(cls, "batch_size"), help="batch size per process")
    g.add_argument("--lr", type=limited(Limit(float, 0, MAX_LR, low_open=True), "lr"),
                   help=f"peak Adam learning rate (at most {MAX_LR:g})")
    g.add_argument("--warmup-steps", type=field_flag(cls, "warmup_steps"), help="linear learning-rate warm-up steps")
    g.add_argument("--val-every", type=field_flag(cls, "val_every"), help="validate every this many steps")
    g.add_argument("--seed", type=field_flag(cls, "seed"), help="seeds the model initialisation and the batch order")


def _add_train_vqvae(sub) -> None:
    p = sub.add_parser("vqvae", help="train a VQ-VAE and save it as a bundle",
                       description="Train a VQ-VAE (progress on stderr) and save a bundle to --out.")
    p.add_argument("--out", required=True, metavar="DIR", help="bundle folder to write, e.g. runs/mnist")
    p.add_argument("--resume", metavar="BUNDLE", help="continue training this bundle's VQ-VAE")
    p.add_argument("--examples", type=limited(lambda: Limit(int, 0, _max_examples()), "examples"), default=256, metavar="N",
                   help="store the first N validation images in the bundle for the GUI (default 256)")
    _device_flag(p)
    add_data_flags(p, "mnist with a random 10% validation split; with --resume, the bundle's data")
    _schedule_flags(p, "training images", VQVAE_TRAIN_CONFIG)
    m = p.add_argument_group("model (ignored with --resume: the bundle's architecture is kept)")
    m.add_argument("--num-codes", type=field_flag(VQVAE_CONFIG, "num_codes"), metavar="K", help="codebook size K")
    m.add_argument("--code-dim", type=field_flag(VQVAE_CONFIG, "code_dim"), metavar="D",
                   help="dimension D of each code vector")
    m.add_argument("--hidden", type=field_flag(VQVAE_CONFIG, "hidden_channels"), metavar="C",
                   help="channels of the conv trunk")
    m.add_argument("--res-channels", type=field_flag(VQVAE_CONFIG, "res_channels"), metavar="C",
                   help="bottleneck width of the residual blocks")
    m.add_argument("--res-blocks", type=field_flag(VQVAE_CONFIG, "res_blocks"), metavar="N",
                   help="residual blocks in the decoder (and encoder)")
    m.add_argument("--encoder-res-blocks", type=field_flag(VQVAE_CONFIG, "encoder_res_blocks"), metavar="N",
                   help="residual blocks in the encoder (default: as --res-blocks; 0 = local codes)")
    m.add_argument("--encoder-kernel", type=int, choices=(1, 3),
                   help="kernel of the encoder's last conv (1 = each code sees only its own patch)")
    m.add_argument("--downsample", type=int, choices=(1, 2, 4, 8), help="image -> code grid factor")
    m.add_argument("--quantizer", choices=QUANTIZER_KINDS,
                   help="vq (nearest neighbour), gumbel (Gumbel-Softmax), rotation (VQ + rotation trick), cosine "
                        "(l2-normalised VQ), factorised (low-dimensional lookup), fsq (finite scalar quantization)")
    m.add_argument("--beta", type=field_flag(VQVAE_CONFIG, "beta"), help="commitment weight")
    m.add_argument("--no-ema", dest="ema", action="store_false", default=None,
                   help="train the codebook with its loss term instead of EMA updates")
    m.add_argument("--no-kmeans-init", dest="kmeans_init", action="store_false", default=None,
                   help="keep the random codebook instead of k-means on the first batch")
    m.add_argument("--dead-code-steps", type=field_flag(VQVAE_CONFIG, "dead_code_steps"), metavar="N",
                   help="re-seed codes unused for N steps (0 = never)")
    m.add_argument("--tau-rate", type=field_flag(VQVAE_CONFIG, "tau_rate"), metavar="R",
                   help="Gumbel temperature decay per step, tau = max(0.1, exp(-R * step)) (default 2e-4)")


def _add_train_prior(sub) -> None:
    p = sub.add_parser("prior", help="train a PixelCNN or transformer prior over a bundle's code grids",
                       description="Train a PixelCNN or causal transformer prior on the codes of a bundle's "
                                   "VQ-VAE and save it into the bundle (atomically) or into --out.")
    p.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a trained VQ-VAE")
    p.add_argument("--out", metavar="DIR", help="write here instead of back into --bundle")
    _device_flag(p)
    add_data_flags(p, "the bundle's own data settings")
    _schedule_flags(p, "code grids", PRIOR_TRAIN_CONFIG)
    m = p.add_argument_group("prior model")
    m.add_argument("--kind", choices=("gated", "plain", "transformer"),
                   help="gated PixelCNN (no blind spot), plain PixelCNN or causal transformer")
    m.add_argument("--channels", type=field_flag(PRIOR_CONFIG, "channels"), help="feature width of the stack")
    m.add_argument("--layers", type=field_flag(PRIOR_CONFIG, "layers"), help="gated layers / residual blocks")
    m.add_argument("--kernel-size", type=field_flag(PRIOR_CONFIG, "kernel_size"), help="masked convolution kernel size")
    m.add_argument("--head-channels", type=field_flag(PRIOR_CONFIG, "head_channels"),
                   help="width of the 1x1 output head")
    m.add_argument("--heads", type=field_flag(PRIOR_CONFIG, "heads"), help="attention heads (transformer)")
    m.add_argument("--mlp-ratio", type=field_flag(PRIOR_CONFIG, "mlp_ratio"),
                   help="MLP width as a multiple of --channels (transformer)")
    m.add_argument("--dropout", type=field_flag(PRIOR_CONFIG, "dropout"),
                   help="dropout rate during training (also when continuing with --resume-prior)")
    cls = m.add_mutually_exclusive_group()
    cls.add_argument("--class-conditional", action="store_true", help="condition the prior on the labels")
    cls.add_argument("--class-heads", action="store_true",
                     help="transformer: one output head per class of the labels, mixed (an unconditional prior "
                          "that draws like a class-conditional one, at the unconditional cost)")
    m.add_argument("--label-weight", type=field_flag(PRIOR_TRAIN_CONFIG, "label_weight"), metavar="W",
                   help="with --class-heads: weight of -log p_y(z) for the label y in the loss (the rest: "
                        "-log p(z)); default 0.8")
    m.add_argument("--positional", action=argparse.BooleanOptionalAction, default=None,
                   help="learned per-position biases in every layer (the prior knows where on the grid it is)")
    m.add_argument("--augment-shifts", type=field_flag(PRIOR_TRAIN_CONFIG, "augment_shifts"), metavar="N",
                   help="also train on images shifted by up to +-N pixels")
    m.add_argument("--resume-prior", action="store_true",
                   help="continue training the bundle's prior instead of starting a new one")


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line on stderr, ``error: argument --lr: ...``, exit code 2
    (the same shape as the commands' own errors; the full usage stays behind ``--help``)."""

    def error(self, message: str):  # noqa: D102 (argparse override)
        self.exit(2, f"error: {' '.join(message.split())} (see `{self.prog} --help`)\n")


def build_parser(prog: str = "python -m explorer") -> argparse.ArgumentParser:
    """The full command-line parser (subcommand parsers share its class: one-line errors)."""
    parser = OneLineErrorParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    gui = sub.add_parser("gui", help="start the desktop app (the default)")
    gui.add_argument("--bundle", metavar="DIR", help="open this bundle")

    train = sub.add_parser("train", help="train a VQ-VAE or a prior (train vqvae | train prior)")
    train_sub = train.add_subparsers(dest="model", metavar="MODEL", title="models", required=True)
    _add_train_vqvae(train_sub)
    _add_train_prior(train_sub)

    sample = sub.add_parser("sample", help="decode prior samples into a PNG grid",
                            description="Draw code grids from the bundle's prior, decode them, save a PNG grid.")
    sample.add_argument("--bundle", required=True, metavar="DIR")
    sample.add_argument("--out", required=True, metavar="FILE.png")
    sample.add_argument("--n", type=limited(Limit(int, 1, MAX_SAMPLES), "n"), default=64,
                        help=f"number of samples (default 64, at most {MAX_SAMPLES})")
    sample.add_argument("--nrow", type=limited(Limit(int, 1, MAX_SAMPLES), "nrow"), default=8,
                        help="images per row of the grid (default 8)")
    sample.add_argument("--temperature", type=limited(Limit(float, 0, 100), "temperature"), default=1.0,
                        help="softmax temperature (0 = greedy)")
    sample.add_argument("--top-k", type=limited(Limit(int, 1, 8192), "top_k"), metavar="K",
                        help="sample only among the K most likely codes")
    sample.add_argument("--seed", type=field_flag(VQVAE_TRAIN_CONFIG, "seed"), default=0, help="random seed (default 0)")
    sample.add_argument("--label", type=limited(Limit(int, 0, 999), "label"), metavar="C",
                        help="class for a class-conditional prior "
                        "(default: cycle through the classes)")
    sample.add_argument("--padding", type=limited(Limit(int, 0, MAX_PADDING), "padding"), default=2,
                        help=f"pixels between grid cells (default 2, at most {MAX_PADDING})")
    _device_flag(sample, "cpu")

    evaluate = sub.add_parser("evaluate", help="held-out metrics of a bundle, as JSON",
                              description="Held-out reconstruction MSE, code usage and prior NLL, printed as JSON.")
    evaluate.add_argument("--bundle", required=True, metavar="DIR")
    _device_flag(evaluate)
    add_data_flags(evaluate, "the bundle's own data settings")

    add_ensemble_parser(sub)
    add_compress_parsers(sub)
    add_score_parser(sub)
    add_compare_quantizers_parser(sub)

    shot = sub.add_parser("screenshot", help="render a panel of the app to a PNG",
                          description="Render one panel of the app offscreen and save it as a PNG.")
    shot.add_argument("--panel", required=True, metavar="NAME")
    shot.add_argument("--out", required=True, metavar="FILE.png")
    shot.add_argument("--bundle", metavar="DIR", help="bundle to show (default: the shipped model)")
    shot.add_argument("--size", default="1280x800", metavar="WxH", help="window size (default 1280x800)")
    shot.add_argument("--presentation", action="store_true", help="turn presentation mode (F5) on first")
    shot.add_argument("--help-dialog", action="store_true", help="save the Help dialog (F1) at this panel's topic")
    shot.add_argument("--check-fit", action="store_true",
                      help="also list every text that does not fit its widget (exit status 1 if any)")
    return parser
