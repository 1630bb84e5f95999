"""Unstructured sparsity for stored size: magnitude masks (fixed or dynamic threshold) and Deep Compression."""
