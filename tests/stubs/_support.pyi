"""mypy only: `import _support` in a test (pytest puts its folder on sys.path) is tests.reliability._support."""
from tests.reliability._support import *
