"""Results of the reference cloud's jobs: reproducible counts over output states.

The same seed and the same job give the same results, so a failing check can be replayed.
"""
from __future__ import annotations

import json
import random
import re
from itertools import combinations_with_replacement
from typing import Any

_STATE = re.compile(r"\|([0-9]+(?:,[0-9]+)*)>")
MAX_STATES = 64


def photon_and_modes(input_state: Any) -> tuple[int, int]:
    """Photon count and mode count of an input state such as ``|1,0,1>`` (``:PCVL:BasicState:`` prefix allowed)."""
    match = _STATE.search(input_state) if isinstance(input_state, str) else None
    if not match:
        return 1, 2
    occupations = [int(x) for x in match.group(1).split(",")]
    return max(1, min(sum(occupations), 6)), max(1, min(len(occupations), 12))


def output_states(photons: int, modes: int, limit: int = MAX_STATES) -> list[str]:
    """Up to ``limit`` Fock states of ``photons`` photons over ``modes`` modes, as ``|n1,n2,...>``."""
    states = []
    for placement in combinations_with_replacement(range(modes), photons):
        occupation = [0] * modes
        for mode in placement:
            occupation[mode] += 1
        states.append("|" + ",".join(map(str, occupation)) + ">")
        if len(states) >= limit:
            break
    return states


def make_results(payload: dict[str, Any], seed: int, job_key: str) -> str:
    """The JSON text of a completed job's results for its command.

    ``sample_count``: counts summing to ``max_shots``; ``probs``: probabilities summing to 1;
    ``samples``: ``max_shots`` sampled states.
    """
    rng = random.Random(f"{seed}:{job_key}")
    photons, modes = photon_and_modes(payload.get("input_state"))
    states = output_states(photons, modes)
    weights = [rng.random() + 0.05 for _ in states]
    shots = payload.get("max_shots") if isinstance(payload.get("max_shots"), int) else 1000
    command = payload.get("command")
    if command == "probs":
        total = sum(weights)
        results: Any = {s: w / total for s, w in zip(states, weights)}
    elif command == "samples":
        results = rng.choices(states, weights=weights, k=min(shots, 100_000))
    else:
        results = {s: c for s, c in zip(states, _split(shots, weights, rng)) if c}
    return json.dumps({"results": results, "command": command, "max_shots": shots,
                       "physical_perf": 1.0, "logical_perf": 1.0})


def _split(total: int, weights: list[float], rng: random.Random) -> list[int]:
    """``total`` shots shared in proportion to ``weights``, rounded at random so they sum exactly."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    short = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - counts[i]) + rng.random() * 0.5, reverse=True)
    for i in order[:short]:
        counts[i] += 1
    return counts
