"""mypy only: `import _secret_forms` in a test (pytest puts its folder on sys.path) is tests.reliability._secret_forms."""
from tests.reliability._secret_forms import *
