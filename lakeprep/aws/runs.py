"""Follow a submitted run (``deploy --wait``): its state until a final one, where its driver
logs are, and the last lines of the driver's error output when it failed.

Where each service keeps a run's driver output:

- EMR Serverless: the run's S3 monitoring location,
  ``<logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/stdout.gz`` and ``stderr.gz``.
  spark-submit runs a Python driver with its error stream merged into its output, so the
  job's own lines (lakeprep's log, ``error: ...``, a traceback) are in ``stdout.gz`` and
  ``stderr.gz`` holds Spark's JVM log;
- EMR on EC2: the cluster's log URI, ``<LogUri>/<cluster>/steps/<step>/stderr.gz`` and
  ``stdout.gz`` (what spark-submit printed; in cluster mode the driver's own output is in the
  YARN container logs under ``<LogUri>/<cluster>/containers/``);
- Glue: CloudWatch Logs, group ``/aws-glue/jobs/error`` (driver stderr) and
  ``/aws-glue/jobs/output``, stream ``<job run id>``.

A failed run's tail comes from the first of these that holds the job's own error (a line
``error: ...`` or a Python traceback), else from the first that holds anything.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lakeprep.aws.clients import client, split_s3
from lakeprep.aws.deploy import Submitted, aws_error_message
from lakeprep.errors import AwsError, LakeprepError

log = logging.getLogger(__name__)

GLUE_ERROR_GROUP = "/aws-glue/jobs/error"
GLUE_OUTPUT_GROUP = "/aws-glue/jobs/output"
TAIL_LINES = 20

# (succeeded, failed, still going) states of each target's run, every state its API documents
STATES: dict[str, tuple[set[str], set[str], set[str]]] = {
    "glue": ({"SUCCEEDED"}, {"FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"},
             {"STARTING", "RUNNING", "STOPPING", "WAITING"}),
    "emr": ({"COMPLETED"}, {"FAILED", "CANCELLED", "INTERRUPTED"},
            {"PENDING", "CANCEL_PENDING", "RUNNING"}),
    "emr-serverless": ({"SUCCESS"}, {"FAILED", "CANCELLED"},
                       {"SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "CANCELLING", "QUEUED"}),
}


class RunFailed(LakeprepError):
    """A submitted run ended in a state other than success."""


@dataclass(frozen=True)
class DriverLogs:
    """Where a run's driver output is, and how to read the end of it."""

    where: str  # an s3:// folder, or "CloudWatch Logs <group>/<stream>"
    # s3:// URIs of .gz files, or "<group>/<stream>" in CloudWatch Logs: the likeliest home
    # of the job's own error first
    sources: tuple[str, ...]

    def tail(self, region: str | None, lines: int = TAIL_LINES) -> list[str]:
        """The last ``lines`` lines of the first source that holds the job's own error, else
        of the first that holds anything ([] when there is none)."""
        texts = [t for t in (self._read(s, region, lines) for s in self.sources) if t]
        if not texts:
            return []
        own = next((t for t in texts if any(_job_error(line) for line in t)), texts[0])
        return own[-lines:]

    @staticmethod
    def _read(source: str, region: str | None, lines: int) -> list[str]:
        try:
            if source.startswith("s3://"):
                bucket, key = split_s3(source)
                body = client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
                return gzip.decompress(body).decode("utf-8", "replace").splitlines()
            group, stream = source.rsplit("/", 1)
            events = client("logs", region).get_log_events(
                logGroupName=group, logStreamName=stream, limit=lines,
                startFromHead=False)["events"]
            return [e["message"].rstrip("\n") for e in events]
        except Exception as e:  # the logs may not be there (yet): say so, keep the verdict
            message = aws_error_message(e)
            if message is None:
                raise
            log.debug("no driver log at %s: %s", source, message)
            return []


def _job_error(line: str) -> bool:
    return line.startswith(("error:", "Traceback (most recent call last)"))


def driver_logs(submitted: Submitted, region: str | None = None) -> DriverLogs | None:
    """Where the run's driver logs go (None: the EMR cluster keeps no logs on S3)."""
    ids = submitted.ids
    if submitted.target == "glue":
        stream = ids["run"]
        return DriverLogs(f"CloudWatch Logs {GLUE_ERROR_GROUP} and {GLUE_OUTPUT_GROUP}, "
                          f"stream {stream}", (f"{GLUE_ERROR_GROUP}/{stream}",
                                               f"{GLUE_OUTPUT_GROUP}/{stream}"))
    if submitted.target == "emr":
        cluster = client("emr", region).describe_cluster(ClusterId=ids["cluster"])["Cluster"]
        root = cluster.get("LogUri")
        if not root:
            return None
        folder = f"{root.replace('s3n://', 's3://').rstrip('/')}/{ids['cluster']}/steps/" \
                 f"{ids['step']}/"
        return DriverLogs(folder, (f"{folder}stderr.gz", f"{folder}stdout.gz"))
    root = (submitted.log_uri or "").rstrip("/")
    if not root:
        return None
    folder = f"{root}/applications/{ids['application']}/jobs/{ids['run']}/SPARK_DRIVER/"
    return DriverLogs(folder, (f"{folder}stdout.gz", f"{folder}stderr.gz"))


def run_state(submitted: Submitted, region: str | None = None) -> tuple[str, str]:
    """The run's current state and its error message (empty when none)."""
    ids = submitted.ids
    if submitted.target == "glue":
        run = client("glue", region).get_job_run(JobName=ids["glue job"], RunId=ids["run"])
        return run["JobRun"]["JobRunState"], run["JobRun"].get("ErrorMessage", "")
    if submitted.target == "emr":
        step = client("emr", region).describe_step(ClusterId=ids["cluster"], StepId=ids["step"])
        status = step["Step"]["Status"]
        details = status.get("FailureDetails") or {}
        return status["State"], details.get("Message") or details.get("Reason") or ""
    run = client("emr-serverless", region).get_job_run(applicationId=ids["application"],
                                                       jobRunId=ids["run"])["jobRun"]
    return run["state"], run.get("stateDetails") or ""


def wait(submitted: Submitted, on_state: Callable[[str], None], region: str | None = None,
         interval: float = 15.0, timeout: float = 24 * 3600,
         on_failed_logs: Callable[[list[str]], None] | None = None) -> str:
    """Poll until the run ends, calling ``on_state`` at each change; a failed run raises
    RunFailed with its error line, after ``on_failed_logs`` got the driver's last lines."""
    ok, failed, going = STATES[submitted.target]
    last, deadline = "", time.monotonic() + timeout
    while True:
        try:
            state, message = run_state(submitted, region)
        except Exception as e:
            text = aws_error_message(e)
            if text is None:
                raise
            raise AwsError(f"following {submitted.target} run {submitted.describe()}: "
                           f"{text}") from None
        if state != last:
            on_state(state)
            last = state
        if state in ok:
            return state
        if state in failed:
            if on_failed_logs is not None:
                logs = driver_logs(submitted, region)
                on_failed_logs(logs.tail(region) if logs else [])
            raise RunFailed(f"{submitted.target} run {submitted.describe()} ended {state}: "
                            f"{_one_line(message) or 'no error message given'}")
        if state not in going:
            log.warning("%s run state %s is not one lakeprep knows; still waiting",
                        submitted.target, state)
        if time.monotonic() > deadline:
            raise RunFailed(f"{submitted.target} run {submitted.describe()} still {state} "
                            f"after {timeout:.0f} s")
        time.sleep(interval)


def _one_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
