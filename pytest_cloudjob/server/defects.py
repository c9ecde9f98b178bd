"""Promises the reference cloud can be told to break, one by one, and faults it must survive.

A QA suite is only worth running if it turns red when the cloud misbehaves: starting the reference cloud
with ``--break NAME`` breaks exactly one promise of docs/protocol.md, so a mutation run
(``python -m pytest_cloudjob.mutation``) can count which broken promises a suite notices. Transient
profiles are the opposite: faults a conforming cloud may show (503 bursts, dropped reads, slow answers,
slow jobs) under which a suite must stay green. How each defect is applied lives in ``breakage.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Defect:
    """One broken promise: its name for ``--break``, the promise it breaks (docs/protocol.md), and a short
    tag of the rule it concerns (``row``, shown by ``--list``)."""

    name: str
    promise: str
    row: str
    physics: bool = False  # breaks the results of experiments: only a cloud that simulates them can break it


_CATALOGUE: tuple[Defect, ...] = (
    # -- authorisation: every endpoint, every kind of caller ---------------------------------------------
    Defect("anonymous-allowed", "a request without a token is refused (401)", "§2 header; create 401"),
    Defect("wrong-token-allowed", "a request with a token nobody has is refused (401)", "§2 header; create 401"),
    Defect("anonymous-admin", "admin calls without a token are refused (401)", "§2 list all / cancel many: 401"),
    Defect("wrong-token-admin", "admin calls with a token nobody has are refused (401)", "§2 list all / cancel many: 401"),
    Defect("open-admin-list", "the admin listing refuses a regular user (403)", "§2 list all: 403 for non-admins"),
    Defect("open-admin-cancel", "cancel-many refuses a regular user (403)", "§2 cancel many: 403 for non-admins"),
    Defect("shared-jobs", "another user's job is unknown to every job call (404)", "§2 read/status/...: 404 another user's job"),
    Defect("other-tenant-status", "another user's job status is unknown (404)", "§2 status: 404"),
    Defect("other-tenant-read", "another user's job record is unknown (404)", "§2 read: 404 another user's job"),
    Defect("other-tenant-results", "another user's results are unknown (404)", "§2 results: 404"),
    Defect("other-tenant-cancel", "another user's job cannot be cancelled (404)", "§2 cancel: 404"),
    Defect("other-tenant-rerun", "another user's job cannot be rerun (404)", "§2 rerun: 404"),
    Defect("almost-right-token", "a token that is a known token cut short or with more after it is refused (401)",
           "§1 conventions: 401 [P-auth-2]"),
    Defect("job-lookup-before-auth", "a call without a valid token is 401 before the job it names is looked up "
           "(an unknown id too)", "§1 conventions: 401 first [P-auth-3]"),
    Defect("auth-refusal-403", "a job call without a valid token is 401, not 403", "§1 conventions: 401 [P-auth-1]"),
    Defect("platform-details-anonymous", "platform details need a token (401)", "§2 roles: anonymous [P-role-1]"),
    Defect("availability-anonymous", "availability needs a token (401)", "§2 roles: anonymous [P-role-1]"),
    Defect("platform-details-admin-refused", "every account may read platform details, an admin too",
           "§2 roles: platform details [P-role-2]"),
    Defect("admin-sees-own-jobs-only", "an admin reads every account's jobs", "§2 roles: admin [P-role-3]"),
    Defect("job-id-format-400", "an id the cloud does not know is a 404, whatever it looks like (ids are opaque)",
           "§2 endpoints: 404 [P-id-1]"),
    # -- create: validation of each required field, unknown platforms -----------------------------------
    Defect("lax-create", "a create body without 'payload' is refused (400)", "§2 create: 400 bad body"),
    Defect("lax-platform-name", "a create body without 'platform_name' is refused", "§2 create: 400 bad body"),
    Defect("lax-command", "a payload without 'command' is refused (400)", "§2 create: 400 bad body"),
    Defect("max-shots-type-unchecked", "a payload field of the wrong type (a text max_shots) is refused (400)",
           "§1 conventions: 400 [P-valid-2]"),
    Defect("nan-accepted", "a body with NaN (not JSON) is refused (400)", "§1 conventions: 400 [P-valid-3]"),
    Defect("extra-field-refused", "a create body's top-level fields the cloud does not know are accepted",
           "§2 create body: other fields [P-create-5]"),
    Defect("bad-body-crash", "a create body that is not a JSON object is refused with 400, not a crash",
           "§2 create: 400 bad body"),
    Defect("unknown-platform-accepted", "a job on an unknown platform is refused (404)", "§2 create: 404 unknown platform"),
    Defect("unknown-platform-400", "an unknown platform is answered 404, not 400", "§2 create: 404 unknown platform"),
    Defect("unknown-platform-details", "the details of an unknown platform are 404", "§2 platform: 404"),
    Defect("unknown-platform-legacy", "the details of an unknown platform are 404 on the older path too",
           "§2 platform (older path): 404 [P-platform-3]"),
    # -- platform details ---------------------------------------------------------------------------------
    Defect("legacy-platform-path-missing", "platform details are served on the older path too",
           "§2 platform: GET /api/platform/<name>"),
    Defect("platform-no-commands", "platform specs hold 'available_commands'", "§2 platform: specs.available_commands"),
    Defect("availability-ignores-own-jobs", "availability counts the caller's active jobs in num_jobs_in_queue",
           "§2 availability [P-queue-1]"),
    # -- the status body ----------------------------------------------------------------------------------
    Defect("no-progress", "the status body holds 'progress'", "§2 status body"),
    Defect("progress-percent", "progress is a fraction between 0 and 1", "§2 status body (Perceval's progress)"),
    Defect("no-creation-datetime", "the status body holds 'creation_datetime'", "§2 status body"),
    Defect("text-times", "creation_datetime is a number (seconds), as Perceval computes with it", "§2 status body"),
    Defect("status-messages-dropped", "the status body holds progress_message, status_message, failure_code",
           "§2 status body"),
    Defect("no-start-time", "an ended job that ran has a numeric start_time", "§2 status body"),
    Defect("negative-duration", "duration is never negative", "§2 status body"),
    Defect("start-before-creation", "a job starts no earlier than it was created (start_time >= creation_datetime)",
           "§2 status body"),
    Defect("unknown-status-name", "status is one of the seven names", "§2 status names"),
    Defect("progress-below-one-at-end", "progress is 1 once completed", "§2 status body: progress [P-status-9]"),
    Defect("failure-code-on-success", "failure_code is null unless the job failed", "§2 status body [P-status-4]"),
    Defect("error-without-failure-code", "a failed job's failure_code is a non-empty string",
           "§2 status body [P-status-4]"),
    Defect("no-duration-unless-completed", "a canceled or failed job has a duration too (every end has one)",
           "§2 status body: duration [P-status-7]"),
    Defect("times-in-milliseconds", "creation_datetime and start_time are Unix times in seconds, not milliseconds",
           "§2 status body: units [P-status-5]"),
    Defect("duration-in-milliseconds", "duration is in seconds, not milliseconds", "§2 status body: units [P-status-7]"),
    Defect("start-after-end", "a completed job started no later than it ended (start_time <= creation_datetime + "
           "duration)",
           "§2 status body: order [P-status-8]"),
    Defect("canceled-start-after-end", "a job cancelled while it ran started before it ended",
           "§2 status body: order at every end [P-status-8]"),
    # -- the state machine -----------------------------------------------------------------------------------
    Defect("terminal-not-final", "nothing leaves a terminal state", "§3 terminal states"),
    Defect("running-back-to-waiting", "a running job never goes back to waiting", "§3 transitions"),
    Defect("cancel-completes", "a cancelled running job ends canceled, not completed", "§3 cancel_requested -> canceled"),
    Defect("never-starts", "a job starts and ends within the deadline (liveness)", "§3 waiting -> running; §6 deadlines"),
    Defect("never-ends", "a running job ends within the deadline (liveness)", "§3 running -> completed; §6 deadlines"),
    Defect("cancel-stuck", "a job being cancelled ends canceled within the deadline", "§3 cancel_requested -> canceled"),
    # -- cancel -------------------------------------------------------------------------------------------------
    Defect("cancel-completed-accepted", "cancelling a completed job is refused (400)", "§2 cancel: 400 job already ended"),
    Defect("cancel-canceled-accepted", "cancelling a job twice is refused once it ended (400)",
           "§2 cancel: 400 job already ended"),
    Defect("cancel-noop", "a cancelled running job ends canceled", "§2 cancel: 200; §3 -> canceled"),
    Defect("cancel-waiting-ignored", "a cancelled waiting job ends canceled", "§2 cancel; §3 waiting -> canceled"),
    # -- results ------------------------------------------------------------------------------------------------
    Defect("wrong-shot-count", "sample_count results hold no more samples than the shots taken (one more here)",
           "§2 results: samples ≤ shots"),
    Defect("samples-above-shots", "a job whose max_samples is above its max_shots gets no more samples than shots",
           "§2 results: samples ≤ shots"),
    Defect("reused-seed", "two identical experiments return different samples (each job draws its own)",
           "§2 results: each job its own draw"),
    Defect("shots-ignored", "sample_count results follow the max_shots of the job", "§2 create payload max_shots"),
    Defect("results-before-completion", "results are null before the job completes", "§2 results: null before success"),
    Defect("results-null-after-completion", "a completed job has results", "§2 results"),
    Defect("results-not-text", "results is a JSON text, not an object", "§2 results: \"<JSON text>\""),
    Defect("job-context-dropped", "the results echo the payload's job_context (Perceval's result mapping)",
           "§2 results: job_context [P-results-3]"),
    Defect("unknown-command-completes", "a job of a command the platform does not offer ends in error",
           "§2 create: payload.command [P-create-4]"),
    # -- rerun --------------------------------------------------------------------------------------------------
    Defect("rerun-refused", "a cancelled job can be rerun", "§2 rerun: for error/canceled jobs"),
    Defect("rerun-completed-accepted", "a completed job cannot be rerun (400)", "§2 rerun: error/canceled jobs only"),
    Defect("rerun-same-id", "a rerun makes a new job, with a new id", "§2 rerun: 200 {job_id} new job"),
    Defect("rerun-phantom", "the job a rerun names exists", "§2 rerun: 200 {job_id} new job"),
    Defect("rerun-other-platform", "a rerun runs on the platform of the job it reruns", "§2 rerun"),
    Defect("rerun-payload-changed", "a rerun sends the payload of the job it reruns, budget included",
           "§2 rerun: fidelity [P-rerun-2]"),
    Defect("rerun-names-lost", "a rerun keeps the job_name and pcvl_version of the job it reruns",
           "§2 rerun: fidelity [P-rerun-2]"),
    Defect("rerun-error-refused", "a job that ended in error can be rerun", "§2 rerun: error/canceled jobs [P-rerun-1]"),
    # -- the job record ------------------------------------------------------------------------------------------
    Defect("record-wrong-platform", "the record holds the platform the job was created on", "§2 read: the whole job record"),
    Defect("record-no-process-id", "the record holds the process_id sent", "§2 read; create body process_id"),
    # -- admin listing and cancel-many --------------------------------------------------------------------------
    Defect("list-hides-active", "the admin listing holds every job of the run, active ones too", "§2 list all; §6 listings"),
    Defect("list-ignores-status", "the listing honours the status filter", "§2 list all filters"),
    Defect("list-ignores-platform", "the listing honours the platform_name filter", "§2 list all filters"),
    Defect("list-ignores-process-id", "the listing honours the process_id filter", "§2 list all filters"),
    Defect("list-ignores-owner", "the listing honours the owner filter", "§2 list all filters"),
    Defect("list-unknown-filter-ignored", "the listing refuses a filter it does not know (400)",
           "§2 admin listing [P-list-3]"),
    Defect("list-unknown-status-ignored", "the listing refuses a status filter that is not a status (400)",
           "§2 admin listing [P-list-2]"),
    Defect("list-filter-prefix", "a listing filter matches its field exactly, not as a prefix",
           "§2 admin listing [P-list-1]"),
    Defect("cancel-many-first-only", "cancel-many cancels every id it is given", "§2 cancel many"),
    Defect("cancel-many-missing-outcome", "cancel-many answers one outcome per id", "§2 cancel many: one outcome per id"),
    Defect("cancel-many-unknown-dropped", "cancel-many answers an outcome for an id it does not know too",
           "§2 cancel many: one outcome per id"),
    Defect("cancel-many-not-found-canceled", "cancel-many answers not_found for an id it does not know",
           "§2 cancel many: outcomes [P-many-4]"),
    Defect("cancel-many-ended-canceled", "cancel-many answers already_<status> for a job that had ended",
           "§2 cancel many: outcomes [P-many-3]"),
    Defect("cancel-many-active-says-before", "cancel-many answers canceled or cancel_requested for an active job",
           "§2 cancel many: outcomes [P-many-3]"),
    Defect("cancel-many-ends-completed", "cancel-many leaves a completed job completed",
           "§3 terminal states; cancel many [P-many-2]"),
    Defect("cancel-many-lax-body", "cancel-many refuses job_ids that are not a list of strings (400)",
           "§2 cancel many: 400 bad body [P-many-1]"),
    # -- physics: results follow from the submitted experiment (needs pytest-cloudjob[physics]) -----------
    # Caught by the `distribution` checks of scenarios/physics.scenario.yaml at 1000-10000 shots.
    Defect("uniform-results", "results follow the experiment's distribution, not a uniform one",
           "§6 physics is a promise", physics=True),
    Defect("swapped-modes", "output modes are reported in their order", "§6 physics is a promise", physics=True),
    Defect("distinguishable-photons", "indistinguishable photons interfere (two-photon interference)",
           "§6 physics is a promise", physics=True),
    Defect("postselection-ignored", "the experiment's postselection is applied", "§6 physics is a promise", physics=True),
    Defect("noise-ignored", "the noise model (the experiment's or the platform's perfs) is applied",
           "§6 physics is a promise", physics=True),
    Defect("results-of-another-job", "a job is answered with its own results", "§6 physics is a promise", physics=True),
    # of realistic size on a QPU (issue 20): a drift of the device, or a shot counted as Perceval does not
    Defect("transmittance-halved", "photons are lost as the platform's advertised transmittance says, not twice as often",
           "§6 physics is a promise", physics=True),
    Defect("vacuum-reported", "a shot is an event with at least one photon: no sample without photons",
           "§6 physics is a promise", physics=True),
    Defect("physical-perf-wrong", "the reported physical_perf is the acceptance of the samples kept, not 20 % below it "
           "(a detector efficiency counted twice)", "§2 results: physical_perf [P-results-6]", physics=True),
    # -- datasheet drifts (issue 20 item 4): the device a few points worse than its platform's perfs say.
    # Caught on qpu:qa alone by the datasheet checks of scenarios/physics.scenario.yaml (docs/benchmarks.md §8).
    Defect("g2-drifted", "the device's multi-photon emission is the advertised g2, not 3 points more",
           "§6 the platform's perfs are the device's", physics=True),
    Defect("hom-drifted", "the device's HOM visibility is the advertised one, not 5 points less",
           "§6 the platform's perfs are the device's", physics=True),
    Defect("detector-weak", "each detector's efficiency is the one its mode's t_out advertises, not 15 % below it "
           "(detector 2)", "§6 the platform's perfs are the device's", physics=True),
)

#: How each datasheet drift changes the perfs the device really has: (perfs key, factor, shift), in percent.
PERF_DRIFTS: dict[str, tuple[str, float, float]] = {
    "transmittance-halved": ("Transmittance (%)", 0.5, 0.0),
    "g2-drifted": ("g2 (%)", 1.0, 3.0),
    "hom-drifted": ("HOM (%)", 1.0, -5.0),
}


#: The ``detector-weak`` drift: (mode, factor) on that mode's advertised ``t_out`` (Perceval's per-mode form).
DETECTOR_DRIFT = (2, 0.85)

#: The factor the ``physical-perf-wrong`` defect applies to the physical_perf a job reports.
PERF_REPORTED_FACTOR = 0.8


def drifted_perfs(perfs: dict[str, Any], defects: frozenset[str]) -> dict[str, Any]:
    """The perfs the device really has under the drift defects in ``defects`` (``perfs`` itself when none)."""
    for name, (key, factor, shift) in PERF_DRIFTS.items():
        if name in defects and key in perfs:
            perfs = {**perfs, key: min(100.0, max(0.0, float(perfs[key]) * factor + shift))}
    per_mode = perfs.get("Transmission per mode (%)")
    if "detector-weak" in defects and isinstance(per_mode, dict) and isinstance(per_mode.get("t_out"), list):
        mode, factor = DETECTOR_DRIFT
        t_out = list(per_mode["t_out"])
        if mode < len(t_out):
            t_out[mode] = float(t_out[mode]) * factor
        perfs = {**perfs, "Transmission per mode (%)": {**per_mode, "t_out": t_out}}
    return perfs


#: Every defect by name, in catalogue order.
CATALOGUE: dict[str, Defect] = {d.name: d for d in _CATALOGUE}
#: The promise each defect breaks, by defect name (the ``--break`` help and the mutation table read it).
DEFECTS: dict[str, str] = {d.name: d.promise for d in _CATALOGUE}


@dataclass(frozen=True)
class TransientProfile:
    """Faults a conforming cloud may show: a suite must stay green under each."""

    name: str
    what: str
    server_args: tuple[str, ...]


TRANSIENT: dict[str, TransientProfile] = {p.name: p for p in (
    TransientProfile("unbroken", "the reference cloud as it is", ()),
    TransientProfile("503-bursts", "one read in five answered 503 with Retry-After: 0", ("--read-503-rate", "0.2")),
    TransientProfile("dropped-reads", "one read in twenty cut mid-answer", ("--drop-rate", "0.05")),
    TransientProfile("slow-answers", "every answer 50 ms late", ("--latency", "0.05")),
    TransientProfile("slow-jobs", "sim:qa jobs run ten times longer than usual, well within a deadline",
                     ("--run-time", "sim:qa=2")),
)}

def check_defects(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The set of defects to inject, or ``ValueError`` naming the unknown one and the known ones."""
    unknown = [name for name in names if name not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown defect {unknown[0]!r}; known: {', '.join(DEFECTS)}")
    return frozenset(names)


# -- load-only: promises that only concurrent users can see broken ---------------------------------------
# Caught by a load run (python -m pytest_cloudjob.load, docs/load.md), missed by a plain serial run: one
# client never sends a request while its create is being served. Kept out of CATALOGUE, as the physics defects are
# left out where Perceval is missing, so the plain suite's mutation score is not asked to kill them.
LOAD_ONLY: dict[str, Defect] = {d.name: d for d in (
    Defect("create-id-race", "two creates, even served at the same moment, get two ids", "§2 create: 200 {job_id} new job"),
    Defect("list-same-millisecond", "the admin listing holds every job, those created at the same moment too",
           "§2 list all; §6 listings"),
)}
DEFECTS.update({d.name: d.promise for d in LOAD_ONLY.values()})
