"""The argparse tree: gui, train vqvae, train prior, sample, evaluate, ensemble, screenshot."""
from __future__ import annotations

import argparse

from ..core.device import DEVICE_CHOICES
from .common import add_data_flags
from .ensemble import add_ensemble_parser

DESCRIPTION = ("Discrete Latent Explorer: train, inspect and teach discrete latent models "
               "(VQ-VAE, PixelCNN priors, Gumbel-Softmax). Without a subcommand the GUI starts.")

EPILOG = """examples:
  python -m explorer train vqvae --data mnist --data-root DIR --out runs/mnist --epochs 20
  python -m explorer train prior --bundle runs/mnist
  python -m explorer sample --bundle runs/mnist --n 64 --out grid.png
  python -m explorer evaluate --bundle runs/mnist
  python -m explorer ensemble --bundle runs/a --bundle runs/b --out runs/ab
  torchrun --nproc_per_node 2 -m explorer train vqvae ...   (data-parallel)"""


def _device_flag(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    parser.add_argument("--device", default=default, metavar="NAME",
                        help=f"{', '.join(DEVICE_CHOICES)} or cuda:N (default {default})")


def _schedule_flags(parser: argparse.ArgumentParser, what: str) -> None:
    g = parser.add_argument_group("optimisation")
    g.add_argument("--epochs", type=float, help=f"passes over the {what} (fractions allowed)")
    g.add_argument("--max-steps", type=int, help="train exactly this many steps instead of --epochs")
    g.add_argument("--batch-size", type=int, help="batch size per process")
    g.add_argument("--lr", type=float, help="peak Adam learning rate")
    g.add_argument("--warmup-steps", type=int, help="linear learning-rate warm-up steps")
    g.add_argument("--val-every", type=int, help="validate every this many steps")
    g.add_argument("--seed", type=int, help="seeds the model initialisation and the batch order")


def _add_train_vqvae(sub) -> None:
    p = sub.add_parser("vqvae", help="train a VQ-VAE and save it as a bundle",
                       description="Train a VQ-VAE (progress on stderr) and save a bundle to --out.")
    p.add_argument("--out", required=True, metavar="DIR", help="bundle folder to write, e.g. runs/mnist")
    p.add_argument("--resume", metavar="BUNDLE", help="continue training this bundle's VQ-VAE")
    p.add_argument("--examples", type=int, default=256, metavar="N",
                   help="store the first N validation images in the bundle for the GUI (default 256)")
    _device_flag(p)
    add_data_flags(p, "mnist with a random 10% validation split; with --resume, the bundle's data")
    _schedule_flags(p, "training images")
    m = p.add_argument_group("model (ignored with --resume: the bundle's architecture is kept)")
    m.add_argument("--num-codes", type=int, metavar="K", help="codebook size K")
    m.add_argument("--code-dim", type=int, metavar="D", help="dimension D of each code vector")
    m.add_argument("--hidden", type=int, metavar="C", help="channels of the conv trunk")
    m.add_argument("--res-channels", type=int, metavar="C", help="bottleneck width of the residual blocks")
    m.add_argument("--res-blocks", type=int, metavar="N", help="residual blocks in the decoder (and encoder)")
    m.add_argument("--encoder-res-blocks", type=int, metavar="N",
                   help="residual blocks in the encoder (default: as --res-blocks; 0 = local codes)")
    m.add_argument("--encoder-kernel", type=int, choices=(1, 3),
                   help="kernel of the encoder's last conv (1 = each code sees only its own patch)")
    m.add_argument("--downsample", type=int, choices=(1, 2, 4, 8), help="image -> code grid factor")
    m.add_argument("--quantizer", choices=("vq", "gumbel"), help="nearest-neighbour VQ or Gumbel-Softmax")
    m.add_argument("--beta", type=float, help="commitment weight")
    m.add_argument("--no-ema", dest="ema", action="store_false", default=None,
                   help="train the codebook with its loss term instead of EMA updates")
    m.add_argument("--no-kmeans-init", dest="kmeans_init", action="store_false", default=None,
                   help="keep the random codebook instead of k-means on the first batch")
    m.add_argument("--dead-code-steps", type=int, metavar="N",
                   help="re-seed codes unused for N steps (0 = never)")
    m.add_argument("--tau-rate", type=float, metavar="R",
                   help="Gumbel temperature decay per step, tau = max(0.1, exp(-R * step)) (default 2e-4)")


def _add_train_prior(sub) -> None:
    p = sub.add_parser("prior", help="train a PixelCNN prior over a bundle's code grids",
                       description="Train a PixelCNN prior on the codes of a bundle's VQ-VAE and save it "
                                   "into the bundle (atomically) or into --out.")
    p.add_argument("--bundle", required=True, metavar="DIR", help="bundle with a trained VQ-VAE")
    p.add_argument("--out", metavar="DIR", help="write here instead of back into --bundle")
    _device_flag(p)
    add_data_flags(p, "the bundle's own data settings")
    _schedule_flags(p, "code grids")
    m = p.add_argument_group("prior model")
    m.add_argument("--kind", choices=("gated", "plain"), help="gated PixelCNN (no blind spot) or plain")
    m.add_argument("--channels", type=int, help="feature width of the stack")
    m.add_argument("--layers", type=int, help="gated layers / residual blocks")
    m.add_argument("--kernel-size", type=int, help="masked convolution kernel size")
    m.add_argument("--head-channels", type=int, help="width of the 1x1 output head")
    m.add_argument("--dropout", type=float,
                   help="dropout rate during training (also when continuing with --resume-prior)")
    m.add_argument("--class-conditional", action="store_true", help="condition the prior on the labels")
    m.add_argument("--positional", action=argparse.BooleanOptionalAction, default=None,
                   help="learned per-position biases in every layer (the prior knows where on the grid it is)")
    m.add_argument("--augment-shifts", type=int, metavar="N",
                   help="also train on images shifted by up to +-N pixels")
    m.add_argument("--resume-prior", action="store_true",
                   help="continue training the bundle's prior instead of starting a new one")


def build_parser(prog: str = "python -m explorer") -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
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
    sample.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("--nrow", type=int, default=8, help="images per row of the grid (default 8)")
    sample.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (0 = greedy)")
    sample.add_argument("--top-k", type=int, metavar="K", help="sample only among the K most likely codes")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.add_argument("--label", type=int, metavar="C", help="class for a class-conditional prior "
                        "(default: cycle through the classes)")
    sample.add_argument("--padding", type=int, default=2, help="pixels between grid cells (default 2)")
    _device_flag(sample, "cpu")

    evaluate = sub.add_parser("evaluate", help="held-out metrics of a bundle, as JSON",
                              description="Held-out reconstruction MSE, code usage and prior NLL, printed as JSON.")
    evaluate.add_argument("--bundle", required=True, metavar="DIR")
    _device_flag(evaluate)
    add_data_flags(evaluate, "the bundle's own data settings")

    add_ensemble_parser(sub)

    shot = sub.add_parser("screenshot", help="render a panel of the app to a PNG",
                          description="Render one panel of the app offscreen and save it as a PNG.")
    shot.add_argument("--panel", required=True, metavar="NAME")
    shot.add_argument("--out", required=True, metavar="FILE.png")
    shot.add_argument("--bundle", metavar="DIR", help="bundle to show (default: the shipped model)")
    shot.add_argument("--size", default="1280x800", metavar="WxH", help="window size (default 1280x800)")
    return parser
