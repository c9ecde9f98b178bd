"""mypy only: a test's `import malformed_generator` (its folder is on sys.path) is tests.reliability.malformed_generator."""
from tests.reliability.malformed_generator import *
