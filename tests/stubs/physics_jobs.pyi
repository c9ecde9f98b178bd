"""mypy only: `import physics_jobs` in a test (pytest puts its folder on sys.path) is tests.physics.physics_jobs."""
from tests.physics.physics_jobs import *
