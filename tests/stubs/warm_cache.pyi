"""mypy only: `import warm_cache` (conftest, test_seed) is tests.warm_cache."""
from tests.warm_cache import *
