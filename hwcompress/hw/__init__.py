"""Hardware numbers: FINN's estimates as data, the board-fit check, and the model's cost model."""
