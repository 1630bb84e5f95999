"""Hardware-aware exploration: per-layer bits, widths, input crop and folding target chosen for a board.

FINN's estimate is the cost model (a design that cannot fit is never trained), short fine-tunes from a shared
parent rank the candidates, and Optuna runs the search (its journal file or a PostgreSQL database as storage).
"""
