"""Measure a bundle on a board over SSH: upload, run the board-side driver, bring its JSON back."""
