"""Pruning: coupling groups, importance criteria, allocation of a pruning rate, and surgery."""
