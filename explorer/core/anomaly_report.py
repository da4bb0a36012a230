"""Every anomaly score against every comparison set: the AUROC table, the advice, the warnings (Qt-free).

Rows are score kinds, columns are anomalous sets: near ones (held-out digits of other classes,
e.g. the 5s for a prior of digits 1-4) and far ones (explorer.core.far_sets: noise, blank,
letters, ...). Each cell is AUROC(normal, that set) (explorer.core.anomaly.auroc). From the
table, computed rather than written down:

* the **recommended** score: the one whose *worst* AUROC over the columns is highest (a score
  must hold on every kind of outlier, not on average);
* a **warning** for every score whose AUROC on a far set is below ``FAR_FAIL_AUROC``: such a
  score calls inputs that look like nothing it was trained on normal.

``add_combined`` fills the "combined" score of every set from the others (explorer.core.combined_score).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .anomaly import auroc
from .combined_score import combine_sets, combined_parts

FAR_FAIL_AUROC = 0.7             # below this on a far set a score is said to fail there
GOOD_AUROC = 0.95
SCORE_NAMES = {"nll": "NLL", "ratio": "likelihood ratio", "complexity": "complexity-corrected",
               "combined": "combined (DoSE)", "nll-label": "NLL given the label"}


@dataclass
class Column:
    key: str                       # the set's key, e.g. "class:5", "others", "far:letters"
    title: str                     # short, for a table header, e.g. "5s", "letters"
    far: bool                      # a far set (no digit at all) rather than a near one


@dataclass
class AurocTable:
    kinds: list[str]
    columns: list[Column]
    values: dict[tuple[str, str], float] = field(default_factory=dict)    # (kind, column key) -> AUROC
    scored: set[str] = field(default_factory=set)     # columns whose set is scored (a missing cell: n/a)

    def get(self, kind: str, key: str) -> float | None:
        return self.values.get((kind, key))

    def worst(self, kind: str, far_only: bool = False) -> tuple[float, str] | None:
        """(lowest AUROC, its column key) of a kind over the (far) columns, None if a cell is missing."""
        cells = [(self.get(kind, c.key), c.key) for c in self.columns if c.far or not far_only]
        if not cells or any(v is None for v, _ in cells):
            return None
        return min(cells)


def auroc_table(normal: dict[str, np.ndarray], others: dict[str, dict[str, np.ndarray]],
                columns: list[Column], kinds: list[str]) -> AurocTable:
    """AUROC of each kind between the normal set's scores and each column's set (missing: no cell)."""
    table = AurocTable(list(kinds), list(columns))
    for column in columns:
        scores = others.get(column.key)
        if scores is None:
            continue
        table.scored.add(column.key)
        for kind in kinds:
            if kind in normal and kind in scores and len(normal[kind]) and len(scores[kind]):
                table.values[(kind, column.key)] = auroc(normal[kind], scores[kind])
    return table


def recommended(table: AurocTable) -> tuple[str, float] | None:
    """(kind, its worst AUROC) with the highest worst AUROC over every column; None until all are in."""
    best = None
    for kind in table.kinds:
        worst = table.worst(kind)
        if worst is not None and (best is None or worst[0] > best[1]):
            best = (kind, worst[0])
    return best


def far_failures(table: AurocTable, threshold: float = FAR_FAIL_AUROC) -> dict[str, list[tuple[str, float]]]:
    """kind -> [(far column title, AUROC)] for every far set where that kind's AUROC < threshold."""
    out: dict[str, list[tuple[str, float]]] = {}
    for kind in table.kinds:
        bad = [(c.title, v) for c in table.columns if c.far
               for v in [table.get(kind, c.key)] if v is not None and v < threshold]
        if bad:
            out[kind] = bad
    return out


def advice_lines(table: AurocTable, names: dict[str, str] | None = None) -> list[str]:
    """Plain sentences: which score to use, and which ones fail on far inputs (computed from the table)."""
    names = names or SCORE_NAMES
    lines = []
    best = recommended(table)
    if best is not None:
        kind, worst = best
        verdict = "good on every set" if worst >= GOOD_AUROC else "the best of these, but below 0.95 somewhere"
        lines.append(f"Recommended: {names.get(kind, kind)}: lowest AUROC {worst:.3f} over these "
                     f"{len(table.columns)} sets ({verdict}).")
    failures = far_failures(table)
    if failures:
        each = "; ".join(f"{names.get(kind, kind)} ({', '.join(f'{t} {v:.2f}' for t, v in bad)})"
                         for kind, bad in failures.items())
        lines.append(f"⚠ Fails on far inputs, AUROC < {FAR_FAIL_AUROC} — calls them normal: {each}.")
    return lines


def add_combined(normal: dict[str, np.ndarray], others: dict[str, dict[str, np.ndarray]]) -> bool:
    """Add "combined" to the normal set (cross-fitted) and to every other set, fitted on ``normal``.

    Returns False (and adds nothing) when the normal set is too small or lacks a needed score."""
    parts = combined_parts(normal)
    usable = {k: s for k, s in others.items() if all(p in s for p in parts) and len(next(iter(s.values()), []))}
    try:
        combined_in, combined = combine_sets({p: normal[p] for p in parts},
                                             {k: {p: s[p] for p in parts} for k, s in usable.items()}, parts)
    except (ValueError, KeyError, StopIteration):
        return False
    normal["combined"] = combined_in
    for key, values in combined.items():
        others[key]["combined"] = values
    return True
