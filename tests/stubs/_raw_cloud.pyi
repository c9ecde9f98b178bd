"""mypy only: `import _raw_cloud` in a test (pytest puts its folder on sys.path) is tests._raw_cloud."""
from tests._raw_cloud import *
