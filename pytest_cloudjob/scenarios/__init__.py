"""YAML scenarios of the job lifecycle: loading with line numbers, the format, matchers, the runner."""
