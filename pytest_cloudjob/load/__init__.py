"""The scenarios as load on Locust (``pip install pytest-cloudjob[load]``): ``python -m pytest_cloudjob.load``
or ``locust -f`` the shipped :mod:`~pytest_cloudjob.load.locustfile`. See docs/load.md.

Nothing is imported here: Locust monkey-patches with gevent when imported, which must come first.
"""
