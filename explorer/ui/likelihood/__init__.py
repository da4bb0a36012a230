"""The Likelihood panel and its parts."""
