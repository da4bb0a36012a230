"""Everything the training form edits, as one Qt-free object that round-trips through JSON."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from explorer.core.data import DataConfig
from explorer.core.models.prior import PriorConfig
from explorer.core.training import PriorTrainConfig, VQVAETrainConfig
from explorer.core.models.vqvae import VQVAEConfig

from .config_fields import config_from_dict

MODES = ("vqvae", "prior")           # what Start trains
MODE_TITLES = {"vqvae": "VQ-VAE", "prior": "Prior (PixelCNN)"}


@dataclass
class TrainSettings:
    """The data, the two models and their training settings, and how to run."""
    data: DataConfig = field(default_factory=DataConfig)
    vqvae: VQVAETrainConfig = field(default_factory=VQVAETrainConfig)    # .model is the architecture
    # .model is the architecture; the GUI's default run suits a CPU (minutes): 10 epochs, no shifted copies
    prior: PriorTrainConfig = field(default_factory=lambda: PriorTrainConfig(epochs=10.0, augment_shifts=0))
    mode: str = "vqvae"              # "vqvae" or "prior": what Start trains
    device: str = "auto"             # one of available_devices()
    continue_training: bool = True   # start from the loaded model's weights when the architecture matches

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data.to_dict(), "vqvae": dataclasses.asdict(self.vqvae),
                "prior": dataclasses.asdict(self.prior), "mode": self.mode, "device": self.device,
                "continue_training": self.continue_training}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainSettings":
        """Tolerant inverse of :meth:`to_dict`: unknown or invalid entries keep their defaults."""
        d = d if isinstance(d, dict) else {}
        out = cls()
        out.data = config_from_dict(DataConfig, d.get("data") or {})
        for name, train_cls, model_cls in (("vqvae", VQVAETrainConfig, VQVAEConfig),
                                           ("prior", PriorTrainConfig, PriorConfig)):
            section = d.get(name) or {}
            model = config_from_dict(model_cls, section.get("model") or {}) if isinstance(section, dict) \
                else model_cls()
            train = config_from_dict(train_cls, section if isinstance(section, dict) else {})
            setattr(out, name, dataclasses.replace(train, model=model))
        if d.get("mode") in MODES:
            out.mode = d["mode"]
        if isinstance(d.get("device"), str):
            out.device = d["device"]
        if isinstance(d.get("continue_training"), bool):
            out.continue_training = d["continue_training"]
        return out

    @classmethod
    def from_json(cls, text: str | None) -> "TrainSettings":
        try:
            return cls.from_dict(json.loads(text)) if text else cls()
        except (TypeError, ValueError):
            return cls()


def same_architecture(a: Any, b: Any, ignore: tuple[str, ...] = ()) -> bool:
    """Whether two model configs build models with identical weights' shapes and meaning."""
    da, db = dataclasses.asdict(a), dataclasses.asdict(b)
    for name in ignore:
        da.pop(name, None)
        db.pop(name, None)
    return da == db


def data_config_of(bundle_data: dict | None) -> DataConfig | None:
    """The DataConfig a bundle was trained on, or None if it has none or it cannot be read."""
    if not bundle_data:
        return None
    try:
        return DataConfig.from_dict(bundle_data)
    except ValueError:
        return config_from_dict(DataConfig, bundle_data)
