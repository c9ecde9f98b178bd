# The malformed corpus is input for the tests here, not scenarios of this test run.
collect_ignore_glob = ["malformed/*"]
