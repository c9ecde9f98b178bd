"""``python -m pytest_cloudjob.scenarios.steps``: the docs' step and matcher tables, to paste in docs/scenarios.md."""
from pytest_cloudjob.scenarios.matchers import docs_table as matchers_table
from pytest_cloudjob.scenarios.steps import docs_table

print(docs_table())
print(matchers_table())
