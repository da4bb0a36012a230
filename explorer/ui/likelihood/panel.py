"""The LikelihoodPanel: a placeholder until it is written."""
from __future__ import annotations

from ..widgets.placeholder import PlaceholderPanel


class LikelihoodPanel(PlaceholderPanel):
    title = "Likelihood & compression"
    object_name = "likelihoodPanel"
    help_text = (
        "<p>Score images by the prior's exact log-likelihood of their code grids: where each image is "
        "surprising, how many bits the codes take, and which images look out of distribution "
        "(e.g. a digit 5 for a model trained on digits 1–4).</p>"
        "<p style='font-size:120%'>log p(z) = Σ<sub>i,j</sub> log p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), "
        "&nbsp; bits = −log<sub>2</sub> p(z)</p>"
        "<p>(notes, <i>Likelihood and anomaly detection</i>: a low likelihood flags an anomaly.)</p>")
