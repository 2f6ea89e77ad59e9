"""Per-stage metrics of one run, read from the driver's REST API (the same
numbers the Spark UI shows), for the run's record in job_runs."""

from __future__ import annotations

import json
import urllib.request


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def stages_of_job_group(spark, job_group: str) -> list[dict]:
    """Stage id, description, duration, input rows, shuffle read/write of every
    stage run for `job_group`; empty when the UI (and so the API) is off."""
    base = spark.sparkContext.uiWebUrl
    if not base:
        return []
    api = f"{base}/api/v1/applications/{spark.sparkContext.applicationId}"
    try:
        jobs = [job for job in _get(f"{api}/jobs") if job.get("jobGroup") == job_group]
        wanted = {stage_id for job in jobs for stage_id in job.get("stageIds", [])}
        # One call for every stage, without the per-task details: asking stage
        # by stage returns each one's tasks too, and took seconds per run.
        return sorted((_summary(attempt) for attempt in _get(f"{api}/stages?details=false")
                       if attempt["stageId"] in wanted
                       # skipped stages (their output was reused) did no work
                       and attempt.get("status") in ("COMPLETE", "FAILED")),
                      key=lambda stage: (stage["stage_id"], stage["attempt"]))
    except OSError as error:  # the record of a run must not fail the run
        return [{"error": f"stage metrics unavailable: {error}"}]


def _summary(stage: dict) -> dict:
    from datetime import datetime

    def instant(text):
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%Z") if text else None

    started, ended = instant(stage.get("submissionTime")), instant(stage.get("completionTime"))
    return {
        "stage_id": stage["stageId"],
        "attempt": stage.get("attemptId", 0),
        "status": stage.get("status"),
        "description": stage.get("description") or stage.get("name"),
        "name": stage.get("name"),
        "duration_s": round((ended - started).total_seconds(), 3) if started and ended else None,
        "tasks": stage.get("numTasks"),
        "executor_run_s": round(stage.get("executorRunTime", 0) / 1000, 3),
        "input_rows": stage.get("inputRecords"),
        "input_bytes": stage.get("inputBytes"),
        "shuffle_read_bytes": stage.get("shuffleReadBytes"),
        "shuffle_read_rows": stage.get("shuffleReadRecords"),
        "shuffle_write_bytes": stage.get("shuffleWriteBytes"),
        "shuffle_write_rows": stage.get("shuffleWriteRecords"),
    }


def tasks_retried(spark, job_group: str) -> bool:
    """Whether a task of `job_group` failed and ran again, or a stage did
    (Spark's status tracker: kept with the UI off too)."""
    tracker = spark.sparkContext.statusTracker()
    for job_id in tracker.getJobIdsForGroup(job_group):
        job = tracker.getJobInfo(job_id)
        for stage_id in job.stageIds if job else ():
            stage = tracker.getStageInfo(stage_id)
            if stage is not None and (stage.numFailedTasks or stage.currentAttemptId):
                return True
    return False
