"""Controls of the codebook panel, one per module."""
