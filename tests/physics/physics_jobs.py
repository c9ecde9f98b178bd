"""Perceval experiments of the physics tests, sent with Perceval's own client, and their results read back."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_cloudjob.physics.distribution import DistributionContext
from pytest_cloudjob.server.process import RunningCloud

pcvl = pytest.importorskip("perceval", reason="the physics extra (Perceval) is not installed")

HAAR_SEED = 1234


def hom(target: Any) -> Any:
    """Two photons on a 50:50 beam splitter: they leave together (Hong-Ou-Mandel), never one per mode."""
    target.set_circuit(pcvl.BS())
    target.with_input(pcvl.BasicState([1, 1]))
    target.min_detected_photons_filter(2)
    return target


def haar_unitary(modes: int) -> Any:
    """A Haar-random unitary from a fixed seed (QR of a complex Gaussian matrix, phases fixed)."""
    import numpy

    rng = numpy.random.default_rng(HAAR_SEED)
    z = (rng.standard_normal((modes, modes)) + 1j * rng.standard_normal((modes, modes))) / numpy.sqrt(2)
    q, r = numpy.linalg.qr(z)
    return pcvl.Matrix(q * (numpy.diag(r) / numpy.abs(numpy.diag(r))))


def haar(target: Any) -> Any:
    """A fixed Haar-random 6-mode interferometer, one photon in each of the first 3 modes."""
    target.set_circuit(pcvl.Unitary(haar_unitary(6)))
    target.with_input(pcvl.BasicState([1, 1, 1, 0, 0, 0]))
    target.min_detected_photons_filter(3)
    return target


def heralded(target: Any) -> Any:
    """A 5-mode Haar interferometer, mode 4 heralded with 0 photons, postselected on one photon in modes 0-1."""
    target.set_circuit(pcvl.Unitary(haar_unitary(5)))
    target.add_herald(4, 0)
    target.with_input(pcvl.BasicState([1, 1, 1, 0]))
    target.set_postselection(pcvl.PostSelect("[0,1]==1"))
    target.min_detected_photons_filter(3)
    return target


def lossy(target: Any) -> Any:
    """Three photons through nothing but the platform's losses; every photon count is reported."""
    target.set_circuit(pcvl.Circuit(3))
    target.with_input(pcvl.BasicState([1, 1, 1]))
    target.min_detected_photons_filter(0)
    return target


def experiment(build: Callable[[Any], Any]) -> Any:
    """The experiment ``build`` describes, for a local simulation."""
    return build(pcvl.Experiment())


def processor(cloud: RunningCloud, build: Callable[[Any], Any], platform: str = "sim:qa") -> Any:
    """The experiment ``build`` describes, on a remote platform of ``cloud``."""
    return build(pcvl.RemoteProcessor(platform, token=cloud.tokens["user"], url=cloud.url))


def sampler(cloud: RunningCloud, build: Callable[[Any], Any], platform: str = "sim:qa", shots: int = 10_000) -> Any:
    return pcvl.algorithm.Sampler(processor(cloud, build, platform), max_shots_per_call=shots)


def run(job: Any, timeout: float = 180.0) -> Any:
    """Wait for a Perceval job sent with ``execute_async`` to end; its results."""
    deadline = time.monotonic() + timeout
    while not job.is_complete:
        assert time.monotonic() < deadline, "the reference cloud did not complete the job in time"
        time.sleep(0.02)
    assert job.status.success, job.status.stop_message
    return job.get_results()


def raw(cloud: RunningCloud, job_id: str) -> tuple[str, DistributionContext]:
    """The result body's ``results`` text of a job, and the context the distribution check needs (the
    payload as the cloud recorded it, the platform's details)."""
    headers = {"Authorization": f"Bearer {cloud.tokens['user']}"}
    record = requests.get(f"{cloud.url}/api/job/{job_id}", headers=headers, timeout=60).json()
    body = requests.get(f"{cloud.url}/api/job/result/{job_id}", headers=headers, timeout=60).json()
    platform = record["platform_name"]

    def details() -> dict[str, Any]:
        answer = requests.get(f"{cloud.url}/api/platforms/{platform}/processor", headers=headers, timeout=60)
        return dict(answer.json())

    return body["results"], DistributionContext(record["payload"], details)


def sample_count(cloud: RunningCloud, build: Callable[[Any], Any], platform: str = "sim:qa",
                 shots: int = 10_000) -> tuple[str, DistributionContext]:
    """A Sampler's ``sample_count`` job sent by Perceval's own client; :func:`raw` of it."""
    job = sampler(cloud, build, platform, shots).sample_count.execute_async(shots)
    run(job)
    return raw(cloud, job.id)


def platform_details(cloud: RunningCloud, platform: str) -> dict[str, Any]:
    """The platform's details as Perceval's client reads them."""
    answer = requests.get(f"{cloud.url}/api/platforms/{platform}/processor",
                          headers={"Authorization": f"Bearer {cloud.tokens['user']}"}, timeout=60)
    return dict(answer.json())


def create(cloud: RunningCloud, payload: dict[str, Any], platform: str = "sim:qa") -> requests.Response:
    body = {"platform_name": platform, "job_name": "physics", "pcvl_version": pcvl.__version__, "payload": payload}
    return requests.post(f"{cloud.url}/api/job", json=body, headers={"Authorization": f"Bearer {cloud.tokens['user']}"},
                         timeout=60)


def submit(cloud: RunningCloud, payload: dict[str, Any], platform: str = "sim:qa",
           timeout: float = 180.0) -> tuple[str, DistributionContext]:
    """Create a job with ``payload`` over plain HTTP, wait until it completes; :func:`raw` of it."""
    answer = create(cloud, payload, platform)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["job_id"]
    headers = {"Authorization": f"Bearer {cloud.tokens['user']}"}
    deadline = time.monotonic() + timeout
    while (status := requests.get(f"{cloud.url}/api/job/status/{job_id}", headers=headers, timeout=60).json()["status"]) \
            in ("waiting", "running"):
        assert time.monotonic() < deadline, "the reference cloud did not complete the job in time"
        time.sleep(0.02)
    assert status == "completed", status
    return raw(cloud, job_id)


def v1(build: Callable[[Any], Any], command: str = "sample_count", shots: int = 10_000, **extra: Any) -> dict[str, Any]:
    """The payload Perceval 1.0-1.2 sends for ``build``'s experiment (one serialized ``experiment``)."""
    from perceval.serialization import serialize

    return {"command": command, "experiment": serialize(experiment(build)), "max_shots": shots, **extra}


SHIPPED = Path(__file__).parents[2] / "scenarios" / "physics.scenario.yaml"


@dataclass(frozen=True)
class ShippedCheck:
    """One shipped physics scenario reduced to what it sends and what it expects of the results."""

    name: str
    payload: dict[str, Any]
    spec: dict[str, Any]


def shipped_checks(path: Path = SHIPPED) -> dict[str, ShippedCheck]:
    """The create payload and the ``distribution`` spec of each scenario of scenarios/physics.scenario.yaml,
    as the scenario loader reads them: each experiment written as components compiled by Perceval."""
    from pytest_cloudjob.scenarios.loader import load_documents
    from pytest_cloudjob.scenarios.model import parse_scenario

    out = {}
    for index, document in enumerate(load_documents(path)):
        scenario = parse_scenario(document, path, index)
        payload = next(s.args["payload"] for s in scenario.steps if s.kind == "create")
        spec = next((s.args["expect"]["results"].get("distribution") for s in scenario.steps if s.kind == "results"),
                    None)
        if spec is None:  # a datasheet check (tests/physics/test_datasheet.py reads those)
            continue
        out[scenario.name] = ShippedCheck(scenario.name, json.loads(json.dumps(payload)), dict(spec))
    return out
