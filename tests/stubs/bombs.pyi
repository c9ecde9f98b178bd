"""mypy only: `import bombs` in a test (pytest puts its folder on sys.path) is tests.physics.bombs."""
from tests.physics.bombs import *
