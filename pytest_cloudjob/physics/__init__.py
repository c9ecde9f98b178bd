"""Physics checks of a quantum cloud's results: statistics with a stated false-alarm rate (standard
library only) and exact references computed by Perceval (an optional extra, imported on first use)."""
