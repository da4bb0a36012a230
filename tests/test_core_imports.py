"""The core is Qt-free, and device selection fails with plain messages."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from explorer.core.device import available_devices, pick_device

QT_MODULES = ("PySide6", "pyqtgraph", "superqt")

_IMPORT_EVERYTHING = r"""
import importlib, json, pkgutil, sys
import explorer, explorer.core
names = ["explorer", "explorer.core"]
for info in pkgutil.walk_packages(explorer.core.__path__, "explorer.core."):
    importlib.import_module(info.name)
    names.append(info.name)
qt = sorted({m.split(".")[0] for m in sys.modules} & {"PySide6", "pyqtgraph", "superqt", "PyQt5", "PyQt6"})
print(json.dumps({"imported": names, "qt": qt}))
"""


def test_importing_the_core_never_imports_qt() -> None:
    import json

    result = subprocess.run([sys.executable, "-c", _IMPORT_EVERYTHING], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # every module of the core was found and imported
    for expected in ("explorer.core.models.vqvae", "explorer.core.models.quantizers", "explorer.core.models.gumbel",
                     "explorer.core.models.masked_conv", "explorer.core.models.pixelcnn", "explorer.core.sampling",
                     "explorer.core.training", "explorer.core.data.datasets", "explorer.core.device"):
        assert expected in report["imported"]
    assert report["qt"] == [], f"the core imported Qt modules: {report['qt']}"


def test_pick_device_cpu_and_auto() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("CPU") == torch.device("cpu")
    auto = pick_device("auto")
    assert auto.type in available_devices()
    if not torch.cuda.is_available():
        assert auto.type in ("cpu", "mps")
    assert available_devices()[:2] == ["auto", "cpu"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_pick_device_cuda_without_a_gpu_raises_a_plain_error() -> None:
    with pytest.raises(ValueError, match="CUDA"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="CUDA"):
        pick_device("cuda:1")


@pytest.mark.parametrize("name", ["tpu", "gpu0", "cpux"])
def test_pick_device_unknown_names_raise(name: str) -> None:
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device(name)
