"""mypy only: `import load_support` in a test (pytest puts its folder on sys.path) is tests.load.load_support."""
from tests.load.load_support import *
