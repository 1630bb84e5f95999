"""The board-side driver: runs on the PYNQ board's Python 3.10 with only the standard library, numpy 1.x and
(imported lazily) pynq. It is copied into every deployment bundle and imported by nothing else in hwcompress.
"""
