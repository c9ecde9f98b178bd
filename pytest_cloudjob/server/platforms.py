"""The reference cloud's platforms: how long jobs wait and run, how many run at once, what they report."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

COMMANDS = ("probs", "sample_count", "samples")
MAX_MODES = 12
MAX_PHOTONS = 6
# Perceval's own keys, in percent: perceval.utils.noise_model.perf_dict_to_noise reads exactly the first
# three, and yields no noise from any other spelling; its client reads the per-mode detector form
# (perceval.components.detector.update_detectors_from_perfs). Ideal: perfect, matched detectors.
IDEAL_PERFS: dict[str, Any] = {"Transmittance (%)": 100.0, "HOM (%)": 100.0, "g2 (%)": 0.0,
                               "Transmission per mode (%)": {"t_out": [100.0] * MAX_MODES}}
# A QPU stand-in within the figures of a real photonic QPU: lossy, partly distinguishable photons, some
# multi-photon emission (g2 > 0, where Perceval's default precision leaves outcomes out: issue 20).
# Its detectors are matched: Perceval's per-mode form (``Transmission per mode (%)``, ``t_out``, one per
# mode) with every mode at 100, so each detector's efficiency relative to the best is 1 (a detector drift is
# the ``detector-weak`` defect). A cloud that advertises unequal ones is modelled by the checks as it says.
QPU_PERFS: dict[str, Any] = {"Transmittance (%)": 50.0, "HOM (%)": 92.0, "g2 (%)": 2.0,
                             "Transmission per mode (%)": {"t_out": [100.0] * MAX_MODES}}
QPU_COMMANDS = ("sample_count", "samples")  # a real QPU measures: Perceval's Sampler maps probs to sample_count


@dataclass(frozen=True)
class PlatformModel:
    """A platform as the reference cloud simulates it.

    ``queue_delay``: seconds a job stays ``waiting`` before it may start; ``run_time``: seconds it
    runs; ``concurrency``: jobs running at once (``None`` for no limit; the others wait in order);
    ``perfs``: the noise the platform applies to experiments that carry no noise model of their own.
    """

    name: str
    kind: str
    queue_delay: float
    run_time: float
    concurrency: int | None = None
    description: str = ""
    perfs: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(IDEAL_PERFS), hash=False)
    commands: tuple[str, ...] = COMMANDS
    detector: str | None = None  # "threshold": Perceval's ``specs.detector``; None: photon-number resolving

    def details(self) -> dict[str, Any]:
        """The body of the platform-details endpoints (Perceval's ``fetch_platform_details``)."""
        detector = {"detector": self.detector} if self.detector else {}
        return {
            "id": self.name.replace(":", "-"),
            "name": self.name,
            "type": "simulator" if self.kind == "simulator" else "physical",
            "status": "available",
            "specs": {
                "available_commands": list(self.commands),
                **detector,
                "constraints": {
                    "max_mode_count": MAX_MODES,
                    "max_photon_count": MAX_PHOTONS,
                    "min_mode_count": 1,
                    "min_photon_count": 1,
                },
                "parameters": {"max_shots": "maximum number of shots", "seed": "random seed of the sampler"},
                "description": self.description,
                "connected_input_modes": list(range(MAX_MODES)),
            },
            "perfs": copy.deepcopy(self.perfs),  # a caller's change never reaches the platform
            "waiting_jobs_limit": None,
            "concurrency": self.concurrency,
        }


def default_platforms(run_times: dict[str, float] | None = None) -> dict[str, PlatformModel]:
    """``sim:qa`` (a fraction of a second), ``sim:slow`` (minutes: for cancel checks) and ``qpu:qa``
    (one job at a time, the others wait). ``run_times`` overrides how long each runs."""
    times = {"sim:qa": 0.2, "sim:slow": 600.0, "qpu:qa": 1.0}
    times.update(run_times or {})
    return {
        "sim:qa": PlatformModel("sim:qa", "simulator", 0.02, times["sim:qa"], None,
                                "fast simulator: a job runs for a fraction of a second"),
        "sim:slow": PlatformModel("sim:slow", "simulator", 0.0, times["sim:slow"], None,
                                  "slow simulator: a job runs for minutes, long enough to cancel it"),
        "qpu:qa": PlatformModel("qpu:qa", "qpu", 0.0, times["qpu:qa"], 1,
                                "a QPU stand-in: one job runs at a time, the others wait; lossy, partly "
                                "distinguishable photons, some multi-photon emission, threshold detectors; "
                                "a shot is an event with at least one photon", copy.deepcopy(QPU_PERFS), QPU_COMMANDS,
                                "threshold"),
    }
