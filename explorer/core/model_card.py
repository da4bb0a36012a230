"""MODEL_CARD.md of a saved bundle: it must describe the weights it sits next to.

A bundle's card is written by people for the weights they shipped ("the VQ-VAE of
trained_models/mnist, copied here unchanged"). Saving carries it along (Save as copies it, a
re-save keeps it), which is right while the weights are the ones it describes, and wrong once
they were trained further: the card would go on claiming what is no longer true.

:func:`refresh_model_card` runs at the end of every save, on the folder being written. The
bundle's training history (``config.json`` → ``history``) grows with every training run (the
app's ``vqvae_training`` / ``prior_training`` records, the command line's ``command`` /
``prior`` / ``resumed_from``), so it says whether the card still fits:

* a hand-written card is kept as it is while the bundle's history is the one saved next to it
  (the folder the card comes from); a card this module wrote is kept while the history is the
  one it was written from (its fingerprint is in the card);
* otherwise the card is rewritten from the history: what was trained, for how many steps, on
  what, starting from which bundle, the held-out metrics recorded since, and below that the
  earlier card, quoted and labelled as describing the model this one started from.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from .safe_io import UnsafeInput, parse_json, read_regular_file

MODEL_CARD = "MODEL_CARD.md"
CONFIG_FILE = "config.json"
MAX_CARD_BYTES = 4 << 20
MAX_CONFIG_BYTES = 4 << 20
MARK = "<!-- discrete-latent-explorer model card, written from the training history {fingerprint} -->"
MARK_RE = re.compile(r"<!-- discrete-latent-explorer model card, written from the training history (\w+) -->")
EARLIER_START = "<!-- earlier card -->"
EARLIER_END = "<!-- end of earlier card -->"


def _plain(value: Any) -> Any:
    """What config.json stores for a value json cannot write itself (as Bundle.save does)."""
    if hasattr(value, "item"):                   # numpy scalars
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def history_fingerprint(history: dict) -> str:
    """A short hash of the training history, as config.json stores it."""
    text = json.dumps(history, sort_keys=True, default=_plain, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def card_is_current(card: str, history: dict, history_beside_card: dict | None) -> bool:
    """Whether ``card`` still describes a bundle with this training ``history``.

    ``history_beside_card``: the history in the config.json of the folder the card comes from
    (None if unreadable)."""
    generated = MARK_RE.search(card)
    if generated is not None:
        return generated.group(1) == history_fingerprint(history)
    return history_beside_card is not None and history_fingerprint(history_beside_card) == history_fingerprint(history)


def earlier_card(card: str) -> str:
    """The people-written card inside a generated one (unquoted), or the card itself."""
    if MARK_RE.search(card) is None:
        return card
    start, end = card.find(EARLIER_START), card.find(EARLIER_END)
    if start < 0 or end < start:
        return ""
    quoted = card[start + len(EARLIER_START):end].strip("\n")
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] if line.startswith(">") else line
                     for line in quoted.splitlines())


# -------------------------------------------------------------------------------------- the text
def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:,}".replace(",", " ") if isinstance(value, int) else f"{value:.4g}"


SETTINGS_SHOWN = ("batch_size", "lr", "warmup_steps", "augment_shifts", "seed")


def _settings(config: Any, keys: tuple[str, ...] = SETTINGS_SHOWN) -> str:
    if not isinstance(config, dict):
        return ""
    parts = [f"{k.replace('_', ' ')} {_number(config[k])}" for k in keys if k in config]
    return f" ({', '.join(parts)})" if parts else ""


def _app_run(what: str, record: dict) -> str:
    steps = record.get("steps")
    line = f"- **{what}**: trained in the app for {_number(steps)} steps" if steps is not None else \
        f"- **{what}**: trained in the app"
    if record.get("stopped_early"):
        line += " (stopped early by the user)"
    if record.get("device"):
        line += f" on {record['device']}"
    if record.get("finished_at"):
        line += f", finished {record['finished_at']}"
    return line + _settings(record.get("config")) + "."


def _cli_run(what: str, record: dict) -> list[str]:
    lines = []
    if record.get("ensemble_of"):
        members = [Path(str(m.get("path", "?") if isinstance(m, dict) else m)).name for m in record["ensemble_of"]]
        lines.append(f"- **{what}**: an ensemble of {len(members)} priors ({', '.join(members)}).")
    elif record.get("command") or record.get("steps"):
        how = f"`{record['command']}`" if record.get("command") else "trained on the command line"
        line = f"- **{what}**: {how}"
        if record.get("steps") is not None:
            line += f", {_number(record['steps'])} steps"
        if record.get("finished"):
            line += f", finished {record['finished']}"
        if record.get("interrupted") or record.get("stopped"):
            line += " (stopped before the end)"
        lines.append(line + ".")
    resumed = record.get("resumed_from")
    if isinstance(resumed, dict) and (resumed.get("command") or resumed.get("history")):
        inner = resumed.get("history", resumed)
        source = f" of `{Path(str(resumed['path'])).name}`" if resumed.get("path") else ""
        if isinstance(inner, dict) and inner.get("command"):
            lines.append(f"  - continuing the weights{source}, trained by `{inner['command']}`.")
    return lines


def training_lines(history: dict) -> list[str]:
    """What the history says was trained, one Markdown bullet per run, the app's runs last."""
    lines: list[str] = []
    if history.get("command") or history.get("steps") or history.get("resumed_from"):
        lines += _cli_run("VQ-VAE", history)
    if isinstance(history.get("prior"), dict):
        lines += _cli_run("Prior", history["prior"])
    for key, what in (("vqvae_training", "VQ-VAE"), ("prior_training", "Prior")):
        if isinstance(history.get(key), dict):
            lines.append(_app_run(what, history[key]))
    return lines or ["- No training is recorded in this bundle's history."]


def _metrics_lines(metrics: dict) -> list[str]:
    shown = {k: v for k, v in (metrics or {}).items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if not shown:
        return ["None recorded for these weights (the app drops held-out metrics that no longer apply when "
                "it trains a model; `python -m explorer evaluate --bundle DIR` measures them again)."]
    return [f"- {k.replace('_', ' ')}: {_number(v)}" for k, v in shown.items()]


def _data_line(data: dict) -> str:
    if not isinstance(data, dict) or not data:
        return "Not recorded."
    parts = [f"dataset `{data.get('name', '?')}`"]
    if data.get("classes"):
        parts.append(f"classes {', '.join(map(str, data['classes']))}")
    if data.get("holdout_last"):
        parts.append(f"the last {_number(data['holdout_last'])} images held out")
    elif data.get("val_fraction"):
        parts.append(f"a random {data['val_fraction']:.0%} held out")
    if data.get("limit"):
        parts.append(f"the first {_number(data['limit'])} images used")
    return ", ".join(parts) + "."


def generated_card(name: str, history: dict, metrics: dict, data: dict, earlier: str, earlier_from: str) -> str:
    """A card describing the bundle from its history, the earlier card quoted below it."""
    trained = [k for k, what in (("vqvae_training", "VQ-VAE"), ("prior_training", "prior")) if history.get(k)]
    changed = " and the ".join("VQ-VAE" if k == "vqvae_training" else "prior" for k in trained)
    lines = [
        MARK.format(fingerprint=history_fingerprint(history)),
        f"# {name or 'bundle'}: what these weights are",
        "",
        f"Written by Discrete Latent Explorer when the bundle was saved ({time.strftime('%Y-%m-%d %H:%M')}), "
        "from the training history in `config.json`; saving again after more training rewrites it.",
    ]
    if earlier.strip():
        source = f" (`{earlier_from}`)" if earlier_from else ""
        lines.append("")
        lines.append(f"These are not the weights the earlier card{source} was written for: the training "
                     "recorded below came after it" + (f" (the {changed} changed here)" if changed else "")
                     + ". That card is quoted at the end for reference only: its numbers and claims (for "
                     "example that weights were \"copied unchanged\") describe the earlier model, not these "
                     "weights.")
    lines += ["", "## Training recorded in this bundle", "", *training_lines(history),
              "", "## Held-out metrics of these weights", "", *_metrics_lines(metrics),
              "", "## Data settings stored with the bundle", "", _data_line(data)]
    if earlier.strip():
        quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in earlier.strip("\n").splitlines())
        lines += ["", f"## The earlier card{f' (`{earlier_from}`)' if earlier_from else ''}", "",
                  EARLIER_START, quoted, EARLIER_END]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------- on save
def _read_text(path: Path, max_bytes: int) -> str | None:
    try:
        if path.is_symlink():
            return None
        return read_regular_file(path, max_bytes).decode("utf-8", errors="replace")
    except (UnsafeInput, OSError):
        return None


def _history_in(folder: Path | None) -> dict | None:
    if folder is None:
        return None
    try:
        config = parse_json(read_regular_file(folder / CONFIG_FILE, MAX_CONFIG_BYTES))
    except (UnsafeInput, OSError):
        return None
    history = config.get("history") if isinstance(config, dict) else None
    return history if isinstance(history, dict) else None


def refresh_model_card(folder: Path, bundle, card_sources: list[Path | None]) -> None:
    """Make ``folder``'s MODEL_CARD.md (already carried or copied there by the save, or none)
    describe ``bundle``: keep it if it still does, else rewrite it from ``bundle.history``.

    ``card_sources``: the folders the card may have come from, in the save's order of
    preference (the bundle being replaced, then the one the bundle was loaded from); the first
    that holds a MODEL_CARD.md is where it came from, and its config.json's history is the
    history a hand-written card describes."""
    card_path = folder / MODEL_CARD
    if not os.path.lexists(card_path):
        return                                   # no card: nothing can be stale
    card = _read_text(card_path, MAX_CARD_BYTES)
    if card is None:
        return
    source = next((s for s in card_sources if s is not None and os.path.lexists(Path(s) / MODEL_CARD)), None)
    history = bundle.history if isinstance(bundle.history, dict) else {}
    if card_is_current(card, history, _history_in(Path(source) if source is not None else None)):
        return
    earlier_from = Path(source).name if source is not None else ""
    text = generated_card(bundle.name, history, bundle.metrics, bundle.data, earlier_card(card), earlier_from)
    if MARK_RE.search(card):                     # rewritten before: keep naming the first bundle
        found = re.search(r"^## The earlier card \(`([^`]*)`\)", card, flags=re.MULTILINE)
        if found:
            text = generated_card(bundle.name, history, bundle.metrics, bundle.data, earlier_card(card),
                                  found.group(1))
    card_path.unlink()                           # a fresh file (never writing through a link)
    card_path.write_text(text, encoding="utf-8")
