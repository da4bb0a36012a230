"""The Quantizer lab panel: several discrete bottlenecks trained side by side (one module per part)."""
