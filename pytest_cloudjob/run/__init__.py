"""One pytest run's machinery, below the scenarios and the plugin and above the client.

Settings (:mod:`.settings`), the run's state and its cloud (:mod:`.target`), each job's trace
(:mod:`.job_traces`: platform, status calls, how and when it ended), the leak sweep (:mod:`.sweep`), the
verdict against thresholds (:mod:`.thresholds`, :mod:`.summary`), the job factory and signal handling
(:mod:`.signals`). Nothing here imports the scenario language, Allure or the plugin module.
"""
