"""A plain Locust ``HttpUser`` making the calls of the smoke lifecycle scenario with no checks at all:
the baseline that benchmarks/load.py compares the scenario users' CPU cost per request with."""
from __future__ import annotations

import os
import time

from locust import HttpUser, constant, task

TOKEN = os.environ.get("CLOUDJOB_TOKEN", "")
PAYLOAD = {"command": "sample_count", "input_state": "|1,1,0>", "max_shots": 777}
POLL_SECONDS = 0.05


class PlainUser(HttpUser):
    wait_time = constant(0)

    @task
    def lifecycle(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        body = {"platform_name": "sim:qa", "job_name": "qa_job", "pcvl_version": "0.12.0",
                "process_id": os.environ.get("CLOUDJOB_LOAD_RUN_ID", "plain"), "payload": PAYLOAD}
        job_id = self.client.post("/api/job", json=body, headers=headers, name="create").json()["job_id"]
        self.client.get(f"/api/job/status/{job_id}", headers=headers, name="status")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = self.client.get(f"/api/job/status/{job_id}", headers=headers, name="status").json()["status"]
            if status == "completed":
                break
            time.sleep(POLL_SECONDS)
        self.client.get(f"/api/job/status/{job_id}", headers=headers, name="status")
        self.client.get(f"/api/job/result/{job_id}", headers=headers, name="results")
        self.client.get(f"/api/job/status/{job_id}", headers=headers, name="status")
