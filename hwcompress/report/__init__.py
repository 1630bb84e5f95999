"""report.json and report.md: every number labelled estimate (FINN), simulated (here) or measured (board)."""
