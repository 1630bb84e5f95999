"""Deployment bundles: driver settings, the accelerator's integer reference model, test data, a manifest."""
