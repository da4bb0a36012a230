"""The SamplingPanel: a placeholder until it is written."""
from __future__ import annotations

from ..widgets.placeholder import PlaceholderPanel


class SamplingPanel(PlaceholderPanel):
    title = "Sampling"
    object_name = "samplingPanel"
    help_text = (
        "<p>Generate new images with the prior: the PixelCNN samples a grid of codes one position at a "
        "time in raster order, each from its predicted distribution, and the VQ-VAE's decoder turns the "
        "grid into an image. Step through the raster one code at a time, change the temperature, fix "
        "some codes and sample the rest.</p>"
        "<p style='font-size:120%'>p(z) = ∏<sub>i,j</sub> p(z<sub>ij</sub> | z<sub>&lt;ij</sub>), "
        "&nbsp; z<sub>ij</sub> ~ Cat(π<sub>θ</sub>(z<sub>&lt;ij</sub>))</p>"
        "<p>(notes, <i>PixelCNN: sampling</i>: training is one parallel pass with teacher forcing, "
        "sampling needs one pass per position.)</p>")
