"""The training panel's parts: the settings form, the run controls and the live plots."""
