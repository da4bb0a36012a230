"""The GumbelPanel: a placeholder until it is written."""
from __future__ import annotations

from ..widgets.placeholder import PlaceholderPanel


class GumbelPanel(PlaceholderPanel):
    title = "Gumbel-Softmax"
    object_name = "gumbelPanel"
    help_text = (
        "<p>Turn the temperature λ down and watch a soft sample become one-hot: the Gumbel-Softmax "
        "relaxation makes sampling from a categorical distribution differentiable.</p>"
        "<p style='font-size:120%'>y<sub>k</sub> = exp((log π<sub>k</sub> + g<sub>k</sub>)/λ) / "
        "Σ<sub>j</sub> exp((log π<sub>j</sub> + g<sub>j</sub>)/λ), &nbsp; "
        "g<sub>k</sub> = −log(−log U), U ~ Uniform(0, 1)</p>"
        "<p>(notes, <i>Gumbel-Softmax</i>: λ → 0 gives one-hot samples, λ → ∞ the uniform vector.)</p>")
