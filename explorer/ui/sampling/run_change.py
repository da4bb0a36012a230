"""What a change of the sampling settings does to the run being animated, in words.

* Temperature, top-k or greedy changed mid-run (0 < t < H·W): the cells drawn so far are kept
  exactly and the rest are drawn with the new settings and the same seed's random numbers
  (:class:`~explorer.core.sampling_session.SamplingSession` with ``kept=``), so the room sees
  the same digit continue at the new temperature.
* Seed, class or batch size changed: a different run, shown at the same step; the status says so.
* Only the animated grid of the batch changed: the same run (no message needed).
"""
from __future__ import annotations

from explorer.core.sampling_session import SamplingSession, SamplingSettings

HOW_TO_DRAW = ("temperature", "top_k", "greedy", "index")      # settings that do not change the run's prefix


def drawing_only(old: SamplingSettings, new: SamplingSettings) -> bool:
    """Whether only how the next codes are drawn changed (not the seed, class or batch)."""
    a, b = old.to_dict(), new.to_dict()
    return all(a[k] == b[k] for k in a if k not in HOW_TO_DRAW)


def draw_text(s: SamplingSettings) -> str:
    """'T = 0.5, top-4' or 'greedy (T = 0)'."""
    what = "greedy (T = 0)" if s.greedy else f"T = {s.temperature:g}"
    return what + (f", top-{s.top_k}" if s.top_k else "")


def change_note(old: SamplingSettings, new: SamplingSettings, t: int, total: int, kept: bool) -> str:
    """One line saying what happened to the run; empty when nothing visible changed."""
    if kept:
        return f"{draw_text(new)} from step {t + 1} on: the {t} cells drawn so far are kept"
    a, b = old.to_dict(), new.to_dict()
    changed = [k for k in ("seed", "label", "n") if a[k] != b[k]]
    words = {"seed": f"seed {new.seed}", "label": f"class {new.label}", "n": f"batch of {new.n}"}
    if changed:
        what = ", ".join(words[k] for k in changed)
        return (f"New {what}: a new run" + (f", shown at its step {t} (Reset to watch it from the start)"
                                           if t else ""))
    if t >= total:
        return f"{draw_text(new)}: the whole grid drawn again with the same seed (Reset to watch it)"
    return ""


def reproduce_text(session: SamplingSession) -> str:
    """How to get the animated grid in Python (rich text)."""
    s = session.settings
    labels = "None" if s.label is None else str(s.label)
    call = (f"bundle.prior.sample({s.n}, temperature={s.sampling_temperature:g}, top_k={s.top_k}, labels={labels}, "
            f"generator=torch.Generator().manual_seed({s.seed})")
    if not session.kept:
        return f"The same seed and settings give the same grid as <code>{call})[{s.index}]</code>"
    k = session.kept
    return (f"Cells 1–{k} kept, the rest drawn with {draw_text(s)}: <code>{call}, given=kept)[{s.index}]</code>, "
            f"kept = the batch after step {k} (later cells -1)")
