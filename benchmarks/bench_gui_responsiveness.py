"""GUI responsiveness while a VQ-VAE trains on the CPU in the app's worker thread.

The real main window (every panel listening to the training snapshots) trains the default
VQ-VAE on the shared MNIST digits (the first 9 000 train, the last 1 000 held out) for
``--seconds`` seconds, while a 10 ms QTimer records the gaps between its ticks. A gap well
over 10 ms is a time the event loop could not react (a frozen window). Prints JSON:
the largest gap, p99/p50, the steps trained, and the machine's load (it may be shared).

``--train-panel-only`` shows the training panel alone (no other panel reacts to the
snapshots): the difference to the full window is what the other panels cost. As the app
does at start-up (``run_app``), torch is warmed up first (its lazy imports, ~2 s once per
process); ``--cold`` skips that, and the first training step then stalls the window.

    python benchmarks/bench_gui_responsiveness.py [--seconds 30] [--data-root ../shared/data/mnist]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TICK_MS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to train and measure")
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--train-panel-only", action="store_true",
                        help="the training panel alone instead of the whole main window")
    parser.add_argument("--cold", action="store_true", help="no torch warm-up before training")
    args = parser.parse_args()

    import torch
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.core.data import DataConfig
    from explorer.core.training import VQVAETrainConfig
    from explorer.ui.app import ensure_application
    from explorer.ui.main_window import MainWindow
    from explorer.ui.train.settings import TrainSettings

    from explorer.ui.workers.warmup import warm_up_torch

    app = ensure_application()
    warm_up_s = None if args.cold else warm_up_torch()
    if args.train_panel_only:
        from explorer.ui.train.panel import TrainPanel
        from explorer.ui.state import AppState
        window = panel = TrainPanel(AppState())
    else:
        window = MainWindow(remember=False)        # no bundle: Start trains a new default VQ-VAE
    window.resize(1280, 800)
    window.show()
    if not args.train_panel_only:
        panel = window.show_panel("trainPanel")
    settings = TrainSettings(data=DataConfig(name="mnist", root=args.data_root, holdout_last=1000),
                             vqvae=VQVAETrainConfig(), device="cpu", continue_training=False)
    panel.settings_model = settings
    panel.form.set_settings(settings)
    panel.controls.set_choices("vqvae", "cpu", False)
    for _ in range(5):
        app.processEvents()

    gaps: list[float] = []
    first_step_at: list[float] = []
    clock = QElapsedTimer()
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now
        if not first_step_at and len(panel.history.vqvae["step"]):
            first_step_at.append(len(gaps))

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    clock.start()
    timer.start()
    started = time.perf_counter()
    panel.start()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    measured_s = time.perf_counter() - started
    steps = len(panel.history.vqvae["step"])
    latest = dict(panel.history.latest)
    stop_clicked = time.perf_counter()
    panel.finish_now(keep=True)
    stop_s = time.perf_counter() - stop_clicked
    window.close()
    QApplication.processEvents()

    g = np.asarray(gaps[1:], dtype=np.float64)
    training = np.asarray(gaps[first_step_at[0]:], dtype=np.float64) if first_step_at else np.zeros(0)
    print(json.dumps({
        "benchmark": "gui_responsiveness_during_cpu_training",
        "window": "training panel alone" if args.train_panel_only else "main window, all six panels",
        "torch_warm_up_s": None if warm_up_s is None else round(warm_up_s, 2),
        "seconds": round(measured_s, 2),
        "timer_interval_ms": TICK_MS,
        "ticks": int(g.size),
        "max_gap_ms": round(float(g.max()), 1) if g.size else None,
        "p99_gap_ms": round(float(np.percentile(g, 99)), 1) if g.size else None,
        "p50_gap_ms": round(float(np.percentile(g, 50)), 1) if g.size else None,
        "gaps_over_50ms": int((g > 50).sum()),
        "max_gap_after_first_step_ms": round(float(training.max()), 1) if training.size else None,
        "steps_done": steps,
        "total_steps": latest.get("total_steps"),
        "images_per_s": round(float(latest.get("images_per_s", 0.0)), 1),
        "stop_and_wait_s": round(stop_s, 3),
        "model": "default VQVAEConfig (K={0.num_codes}, D={0.code_dim}, {0.hidden_channels} channels)".format(
            settings.vqvae.model),
        "batch_size": settings.vqvae.batch_size,
        "torch_threads_worker": max(1, (os.cpu_count() or 2) - 1),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
        "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
