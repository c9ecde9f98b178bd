"""Mutation score of a QA suite: run it once per promise the reference cloud breaks on purpose.

``python -m pytest_cloudjob.mutation PATHS`` answers "would my suite notice if the cloud broke X?" for
every defect of ``pytest_cloudjob.server.defects``, and checks that the suite stays green on the unbroken
cloud and under each transient fault (a suite that is red there cannot be trusted when it is red).
"""
