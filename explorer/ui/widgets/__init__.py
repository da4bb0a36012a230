"""Widgets that more than one panel uses: code grids, images, the drawing canvas, naming helpers."""
