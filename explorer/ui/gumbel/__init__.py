"""The Gumbel panel and its parts."""
