"""Controls of the latent-grid editor, one per module."""
