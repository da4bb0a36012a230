"""The quantizer lab: codebook collapse and its remedies on MNIST, and the lab panel's responsiveness.

Default: train the chosen methods with ``explorer.core.quantizer_lab`` (the same code as the panel
and ``compare-quantizers``) for each K of ``--num-codes`` on the shared MNIST digits (the first
9 000 train, the last 1 000 held out) and print one JSON object: per K, per method, held-out MSE,
codes used (count and fraction), perplexity, dead codes, seconds per step. One torch thread.

``--gui``: the real main window shows the Quantizer lab; ``--methods`` (default 4 methods) train
in its worker for ``--seconds`` while a 10 ms QTimer records the gaps between its ticks (a gap
well over 10 ms is a time the window could not react). Then Stop is clicked and the time until
the held-out results fill the table is measured. Target: largest gap <= 50 ms.

    python benchmarks/bench_quantizer_lab.py [--num-codes 64,512] [--steps 300] [--data-root DIR]
    python benchmarks/bench_quantizer_lab.py --gui [--seconds 30]
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
COLLAPSE_METHODS = "vq,vq-normal,ema,kmeans,restarts,kmeans-restarts,ema-kmeans-restarts,cosine,factorised,rotation,fsq,gumbel"
GUI_METHODS = "vq,kmeans-restarts,rotation,fsq"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=str(REPO.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--methods", default=None, help=f"comma-separated (default {COLLAPSE_METHODS}; "
                                                        f"--gui: {GUI_METHODS})")
    parser.add_argument("--num-codes", default="64,512", help="comma-separated K values (--gui: the first)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gui", action="store_true", help="measure the panel's event loop instead")
    parser.add_argument("--seconds", type=float, default=30.0, help="--gui: how long to train and measure")
    parser.add_argument("--no-redraw", action="store_true",
                        help="--gui without redrawing the plots: the gaps the training thread alone causes")
    parser.add_argument("--idle", action="store_true",
                        help="--gui without training: the gaps this machine's load alone causes (a baseline)")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    if args.gui:
        return gui_main(args)
    from explorer.core.data import DataConfig, load_data
    from explorer.core.quantizer_lab import LabConfig, compare, parse_methods

    methods = parse_methods(args.methods or COLLAPSE_METHODS)
    data = load_data(DataConfig(name="mnist", root=args.data_root, holdout_last=1000))
    out: dict = {"benchmark": "quantizer_lab_collapse", "data": "MNIST test set: first 9000 train, last 1000 held out",
                 "steps": args.steps, "batch_size": 64, "seed": args.seed, "torch_threads": 1, "runs": {}}
    for k in (int(v) for v in args.num_codes.split(",")):
        started = time.perf_counter()
        results = compare(LabConfig(methods=methods, num_codes=k, steps=args.steps, seed=args.seed,
                                    snapshot_every=0), data)
        out["runs"][f"K={k}"] = {"wall_s": round(time.perf_counter() - started, 1), "results": [
            {"method": r.method, "mse": round(r.mse, 5), "codes_used": r.codes_used,
             "codes_used_pct": round(100 * r.codes_used_fraction, 1), "perplexity": round(r.perplexity, 1),
             "dead_codes": r.dead_codes, "ms_per_step": round(1000 * r.seconds_per_step, 1)} for r in results]}
        print(f"K={k} done", flush=True, file=__import__("sys").stderr)
    out.update(machine())
    print(json.dumps(out, indent=2))


def machine() -> dict:
    import torch
    return {"cpu_count": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
            "torch": torch.__version__, "python": platform.python_version()}


def gui_main(args: argparse.Namespace) -> None:
    from event_loop_gaps import EventLoopGaps  # noqa: I001 (benchmarks/, beside this script)
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from explorer.core.quantizer_lab import parse_methods
    from explorer.ui.app import ensure_application
    from explorer.ui.main_window import MainWindow
    from explorer.ui.quantizer_lab.panel import REDRAW_MS
    from explorer.ui.workers.warmup import warm_up_torch

    app = ensure_application()
    warm_up_s = warm_up_torch()
    window = MainWindow(remember=False)
    window.resize(1280, 800)
    window.show()
    panel = window.show_panel("quantizerLab")
    methods = parse_methods(args.methods or GUI_METHODS)
    panel.controls.set_methods(methods)
    panel.controls.set_codebook_size(int(args.num_codes.split(",")[0]))
    panel.controls.steps.setValue(100_000)
    panel.controls.dataset.setCurrentText("mnist")
    panel.controls.data_root.setText(args.data_root)
    for _ in range(5):
        app.processEvents()
    handler_ms: list[float] = []               # GUI-thread time of each lab event (plots, cards, table)
    original_on_event = panel._on_event

    def timed_on_event(event: object) -> None:
        t0 = time.perf_counter()
        original_on_event(event)
        handler_ms.append(1000 * (time.perf_counter() - t0))
    panel.run_event_handler = timed_on_event

    gaps = EventLoopGaps(TICK_MS, first_step=lambda: bool(panel.curves.steps))
    loop = QEventLoop()
    gaps.start()
    started = time.perf_counter()
    if not args.idle:
        assert panel.start()
    if args.no_redraw:
        panel.redraw_timer.stop()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    measured_s = time.perf_counter() - started
    steps = len(panel.curves.steps)
    stop_clicked = time.perf_counter()
    panel.stop()
    deadline = time.perf_counter() + 120      # the timer keeps measuring while the results are computed
    while (panel.is_running or not panel.results.table.rowCount()) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.002)
    stop_s = time.perf_counter() - stop_clicked
    gaps.stop()
    rows = panel.results.table.rowCount()
    window.model_bar.forget_changes()
    window.close()
    QApplication.processEvents()
    print(json.dumps({
        "benchmark": "gui_responsiveness_during_quantizer_lab",
        "window": "main window, Quantizer lab shown" + (" (idle: nothing trains)" if args.idle else ""),
        "methods": list(methods), "num_codes": panel.controls.codebook_size(),
        "torch_warm_up_s": round(warm_up_s, 2),
        "seconds": round(measured_s, 2),
        **gaps.summary(),
        "gui_handler_max_ms": round(max(handler_ms), 1) if handler_ms else None,
        "gui_handler_p99_ms": round(float(np.percentile(handler_ms, 99)), 1) if handler_ms else None,
        "gui_handler_total_s": round(sum(handler_ms) / 1000, 2),
        "lab_steps_done": steps,
        "steps_per_s": round(steps / measured_s, 2),
        "redraw_ms": REDRAW_MS,
        "stop_to_results_s": round(stop_s, 2),
        "result_rows": rows,
        "torch_threads_worker": 1,
        **machine(),
        "qt_platform": os.environ.get("QT_QPA_PLATFORM"),
    }, indent=2))


if __name__ == "__main__":
    main()
