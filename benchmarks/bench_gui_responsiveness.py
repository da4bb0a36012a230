"""GUI responsiveness while a VQ-VAE trains on the CPU in the app's worker thread.

The real main window (every panel listening to the training snapshots) trains the default
VQ-VAE on the shared MNIST digits (the first 9 000 train, the last 1 000 held out) for
``--seconds`` seconds, while a 10 ms QTimer records the gaps between its ticks. A gap well
over 10 ms is a time the event loop could not react (a frozen window). Prints JSON:
the largest gap, p99/p50, the steps trained, and the machine's load (it may be shared).

``--sampling`` measures the Sampling panel instead: the shipped bundle (``--bundle``) animates
at maximum speed (a batch of 16 grids, restarted whenever it ends) while the same 10 ms timer
records the gaps; Pause is clicked ``--pauses`` times at random moments, and the JSON gives
the time from each click (when the click was due) until the animation had stopped, and
whether any step was taken after it. Targets: largest gap <= 50 ms, Pause <= 100 ms.

``--train-panel-only`` shows the training panel alone (no other panel reacts to the
snapshots): the difference to the full window is what the other panels cost. As the app
does at start-up (``run_app``), torch is warmed up first (its lazy imports, ~2 s once per
process); ``--cold`` skips that, and the first training step then stalls the window.

    python benchmarks/bench_gui_responsiveness.py [--seconds 30] [--data-root ../shared/data/mnist]
    python benchmarks/bench_gui_responsiveness.py --sampling [--seconds 20] [--bundle trained_models/mnist]
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
    parser.add_argument("--sampling", action="store_true",
                        help="the Sampling panel animating at maximum speed instead of training")
    parser.add_argument("--bundle", default=str(REPO / "trained_models" / "mnist"), help="bundle for --sampling")
    parser.add_argument("--pauses", type=int, default=10, help="Pause clicks to time (--sampling)")
    args = parser.parse_args()
    if args.sampling:
        return sampling_main(args)

    import torch
    from event_loop_gaps import EventLoopGaps  # noqa: I001 (benchmarks/, beside this script)
    from PySide6.QtCore import QEventLoop, QTimer
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

    gaps = EventLoopGaps(TICK_MS, first_step=lambda: bool(len(panel.history.vqvae["step"])))
    loop = QEventLoop()
    gaps.start()
    started = time.perf_counter()
    panel.start()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    gaps.stop()
    measured_s = time.perf_counter() - started
    steps = len(panel.history.vqvae["step"])
    latest = dict(panel.history.latest)
    stop_clicked = time.perf_counter()
    panel.finish_now(keep=True)
    stop_s = time.perf_counter() - stop_clicked
    if not args.train_panel_only:
        window.model_bar.forget_changes()      # the trained model is thrown away: no "Save?" question at close
    window.close()
    QApplication.processEvents()

    print(json.dumps({
        "benchmark": "gui_responsiveness_during_cpu_training",
        "window": "training panel alone" if args.train_panel_only else "main window, all six panels",
        "torch_warm_up_s": None if warm_up_s is None else round(warm_up_s, 2),
        "seconds": round(measured_s, 2),
        **gaps.summary(),
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


def sampling_main(args: argparse.Namespace) -> None:
    """The Sampling panel at maximum speed: event-loop gaps and Pause latency."""
    import random

    import torch
    from event_loop_gaps import EventLoopGaps  # noqa: I001 (benchmarks/, beside this script)
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from explorer.core.bundle import load_bundle
    from explorer.ui.app import ensure_application
    from explorer.ui.main_window import MainWindow
    from explorer.ui.sampling.controls import SPEEDS
    from explorer.ui.workers.warmup import warm_up_torch

    app = ensure_application()
    warm_up_torch()
    window = MainWindow(bundle=load_bundle(args.bundle), remember=False)
    window.resize(1280, 800)
    window.show()
    panel = window.show_panel("samplingPanel")
    settle_start = time.perf_counter()
    while (panel.is_busy() or not panel.receptive.fields or panel.cost.cost is None) \
            and time.perf_counter() - settle_start < 120:
        app.processEvents()
        time.sleep(0.01)                       # workers (receptive fields, cost, gallery) finish first
    panel.controls.speed.setValue(SPEEDS.index(0))
    play = panel.controls.play
    refreshes = [0]
    original_refresh = panel.refresh

    def counted_refresh() -> None:
        refreshes[0] += 1
        original_refresh()
    panel.refresh = counted_refresh

    steps_per_tick: list[int] = []
    pause_ms: list[float] = []
    steps_after_pause: list[int] = []
    rng = random.Random(0)
    grids_finished = [0]

    def tick() -> None:
        if panel.playing and panel.last_tick_steps:
            steps_per_tick.append(panel.last_tick_steps)
        if not panel.playing and not pausing[0]:
            grids_finished[0] += panel.session.finished
            QTest.mouseClick(play, Qt.LeftButton)          # finished (or paused): play again

    pausing = [False]

    def schedule_pause() -> None:
        due = time.perf_counter() + rng.uniform(0.2, 0.6)
        QTimer.singleShot(int((due - time.perf_counter()) * 1000), lambda: click_pause(due))

    def click_pause(due: float) -> None:
        if not panel.playing:
            schedule_pause()
            return
        pausing[0] = True
        QTest.mouseClick(play, Qt.LeftButton)
        stopped = time.perf_counter()
        t_at_stop = panel.session.t
        pause_ms.append((stopped - due) * 1000)

        def check() -> None:
            steps_after_pause.append(panel.session.t - t_at_stop)
            pausing[0] = False
            if len(pause_ms) < args.pauses:
                schedule_pause()
        QTimer.singleShot(100, check)

    gaps = EventLoopGaps(TICK_MS, on_tick=tick)
    loop = QEventLoop()
    gaps.start()
    started = time.perf_counter()
    cpu_started = time.process_time()
    QTest.mouseClick(play, Qt.LeftButton)
    schedule_pause()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    gaps.stop()
    measured_s = time.perf_counter() - started
    cpu_share = (time.process_time() - cpu_started) / measured_s
    panel.pause()
    prior_cfg = panel.state.bundle.prior.config
    settings = panel.sampling_settings()
    window.close()
    QApplication.processEvents()

    summary = gaps.summary()
    p = np.asarray(pause_ms, dtype=np.float64)
    print(json.dumps({
        "benchmark": "gui_responsiveness_sampling_max_speed",
        "window": "main window, Sampling panel",
        "bundle": str(args.bundle),
        "prior": prior_cfg.describe(),
        "batch_n": settings["n"],
        "seconds": round(measured_s, 2),
        **summary,
        "grids_animated": grids_finished[0],
        "mean_steps_per_animation_tick": round(float(np.mean(steps_per_tick)), 2) if steps_per_tick else None,
        "pause_clicks": int(p.size),
        "pause_to_stop_max_ms": round(float(p.max()), 1) if p.size else None,
        "pause_to_stop_p50_ms": round(float(np.percentile(p, 50)), 1) if p.size else None,
        "steps_after_pause": int(sum(steps_after_pause)),
        "targets": {"max_gap_ms": 50, "pause_to_stop_ms": 100,
                    "meets_gap": summary["max_gap_ms"] is not None and summary["max_gap_ms"] <= 50, "meets_pause": bool(p.size and p.max() <= 100)},
        "process_cpu_seconds_per_second": round(cpu_share, 2),
        "frames_drawn": refreshes[0],
        "process_cpu_ms_per_frame": round(cpu_share * measured_s * 1000 / max(1, refreshes[0]), 1),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
        "python": platform.python_version(),
    }, indent=2))


if __name__ == "__main__":
    main()
