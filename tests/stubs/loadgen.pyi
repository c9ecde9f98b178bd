"""mypy only: `import loadgen` in a test (pytest puts its folder on sys.path) is benchmarks.loadgen."""
from benchmarks.loadgen import *
