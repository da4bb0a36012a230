"""The Sampling panel and its parts."""
