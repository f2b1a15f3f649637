"""The service twins: Glue, EMR (steps) and EMR Serverless, each running what was submitted to
it on the standalone cluster of ``tests/twin/cluster.py``.

``Twin`` is an HTTP endpoint in front of the moto server (``AWS_ENDPOINT_URL_GLUE``,
``_EMR``, ``_EMR_SERVERLESS`` point at it; S3, IAM, STS, logs go to moto directly). Every call
is forwarded to moto, so the job definitions, steps and runs are moto's; the calls that start
work (Glue StartJobRun, EMR AddJobFlowSteps, EMR Serverless StartJobRun) also start the run
on the cluster, and the calls that report a run (GetJobRun, DescribeStep) answer with the
twin's state: running until the driver exits, then success, or failure with the driver's last
error line. The driver's output goes where the service puts it (S3 monitoring location,
the cluster's step log folder, CloudWatch Logs), gzip-compressed as the services write it.

Where a twin differs from its service (the README's "Running on AWS" says the same):

- artefacts (``s3://`` entry points, scripts, archives, wheels) are fetched by the twin with
  boto3 from the bucket and handed to spark-submit as local files; Spark still ships them to
  the executors itself;
- the driver runs in client mode next to the master (EMR steps ask for YARN cluster mode,
  EMR Serverless and Glue run their driver in a container of its own): archives meant for
  the driver's container (``spark.archives``, ``--archives``) are unpacked in its folder, and
  the driver environment settings (``spark.emr-serverless.driverEnv.*``,
  ``spark.yarn.appMasterEnv.*``) become the driver process's environment;
- sizes are scaled to the workers: one executor of 1 core and 1 GiB on each;
- the image's paths: ``/usr/share/aws/delta/lib/`` is the cluster's jar folder, EMRFS and
  Glue's S3 connector are hadoop-aws (s3a, ``s3://`` mapped to it by lakeprep), and the
  service's network (the endpoint, the run's role credentials) is the driver's environment;
- Glue: ``--additional-python-modules`` is installed with pip into the image's Python (the
  image holding what the test environment has, lakeprep aside), with
  ``--python-modules-installer-option`` split at whitespace; ``awsglue`` is not there
  (``run_job.py`` needs none of it).
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.moto_support import KEYS

from .cluster import EXECUTOR_MEMORY, Cluster, hidden_from_nodes, isolated, spark_home

REPO = Path(__file__).resolve().parents[2]
DELTA_LIB = "/usr/share/aws/delta/lib/"
# what every twin run gets on top of the request: the cluster, client mode, the workers' size
CLUSTER_CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.executor.memory": EXECUTOR_MEMORY,
    "spark.executor.cores": "1",
    "spark.cores.max": "2",
    "spark.executor.instances": "2",
    "spark.sql.shuffle.partitions": "2",  # one per executor core
    "spark.databricks.delta.snapshotPartitions": "2",  # Delta's state rebuild, the same way
    # every executor says it is on host 127.0.0.1, so Spark would read a "host-local"
    # executor's shuffle files straight from its disk; on separate machines (and here, where
    # each worker's disk is hidden from the other) blocks travel over the network
    "spark.shuffle.readHostLocalDisk": "false",
}
_SERVERLESS_RUN = re.compile(r"^/applications/([^/]+)/jobruns/?$")
_SERVERLESS_GET = re.compile(r"^/applications/([^/]+)/jobruns/([^/?]+)")


def service_env(endpoint: str, keys: dict[str, str] | None = None) -> dict[str, str]:
    """What the service gives a run: the network (the AWS endpoint) and the role's
    credentials; ``LAKEPREP_S3_ENDPOINT`` is the one lakeprep setting that stands for it."""
    return {**KEYS, **(keys or {}), "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "LAKEPREP_S3_ENDPOINT": endpoint}


@dataclass
class Run:
    """One run on the cluster: its state and the driver's exit and last error line."""

    target: str
    state: str = "RUNNING"
    message: str = ""
    returncode: int | None = None
    stderr: str = ""
    stdout: str = ""
    argv: list[str] = field(default_factory=list)  # the spark-submit command run
    apps: list[str] = field(default_factory=list)  # the applications the master ran for it
    executors: dict[str, list[str]] = field(default_factory=dict)  # app -> workers it ran on
    installed: list[str] = field(default_factory=list)  # Glue: what pip installed
    satisfied: list[str] = field(default_factory=list)  # Glue: what pip found in the image
    done: threading.Event = field(default_factory=threading.Event)


class Twin:
    """The twin endpoint (``url``); ``runs`` by the id the service gave them.

    ``service_env`` is what a run gets from the service: the endpoint and the run's role
    credentials, with which the twin also fetches the run's artefacts and writes its logs (the
    services do both as the run's role); ``control`` are the credentials of the twin's own
    look-ups (the job definition, the cluster), the service's side (default: the run's).
    """

    def __init__(self, cluster: Cluster, moto: str, service_env: dict[str, str],
                 control: dict[str, str] | None = None, api: str | None = None):
        self.cluster, self.moto, self.service_env = cluster, moto, service_env
        # where the service APIs themselves (Glue, EMR, EMR Serverless) live: moto, unless a
        # test keeps them on a server of their own (see the run under IAM)
        self.api = api or moto
        self.control = control or {k: service_env[k] for k in ("AWS_ACCESS_KEY_ID",
                                                                "AWS_SECRET_ACCESS_KEY")}
        self.runs: dict[str, Run] = {}
        self._lock = threading.Lock()  # one run at a time: the cluster has two cores
        twin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                twin._handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for run in self.runs.values():
            run.done.wait(timeout=900)
        self.server.shutdown()
        self.server.server_close()

    def client(self, service: str, as_run: bool = True) -> Any:
        """A client as the run's role (``as_run``) or as the service itself."""
        keys = self.service_env if as_run else self.control
        return boto3.client(service, endpoint_url=self.moto, region_name="us-east-1",
                            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])

    # the HTTP front ------------------------------------------------------------------------
    def _handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        target = h.headers.get("X-Amz-Target", "")
        # the Host header stays: it is part of what the caller signed (SigV4)
        headers = {k: v for k, v in h.headers.items() if k.lower() != "content-length"}
        request = urllib.request.Request(self.api + h.path, data=body or None,
                                         headers=headers, method=h.command)
        try:
            with urllib.request.urlopen(request, timeout=120) as r:
                status, reply, out_headers = r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, reply, out_headers = e.code, e.read(), dict(e.headers)
        if status == 200:
            reply = self._intercept(target, h.command, h.path, body, reply)
        h.send_response(status)
        for k, v in out_headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "date",
                                 "server"):
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(reply)))
        h.end_headers()
        h.wfile.write(reply)

    def _intercept(self, target: str, method: str, path: str, body: bytes, reply: bytes) -> bytes:
        if target == "AWSGlue.StartJobRun":
            sent, got = json.loads(body), json.loads(reply)
            self._start(got["JobRunId"], "glue", self._glue, sent, got["JobRunId"])
        elif target == "AWSGlue.GetJobRun":
            got = json.loads(reply)
            run = self.runs.get(got["JobRun"]["Id"])
            if run:
                got["JobRun"]["JobRunState"] = run.state
                if run.message:
                    got["JobRun"]["ErrorMessage"] = run.message
                return json.dumps(got).encode()
        elif target == "ElasticMapReduce.AddJobFlowSteps":
            sent, got = json.loads(body), json.loads(reply)
            for step, step_id in zip(sent["Steps"], got["StepIds"], strict=True):
                self._start(step_id, "emr", self._emr_step, sent["JobFlowId"], step_id, step)
        elif target == "ElasticMapReduce.DescribeStep":
            got = json.loads(reply)
            run = self.runs.get(got["Step"]["Id"])
            if run:
                got["Step"]["Status"]["State"] = run.state
                if run.message:
                    got["Step"]["Status"]["FailureDetails"] = {"Reason": "twin run failed",
                                                              "Message": run.message}
                return json.dumps(got).encode()
        elif method == "POST" and _SERVERLESS_RUN.match(path):
            sent, got = json.loads(body), json.loads(reply)
            self._start(got["jobRunId"], "emr-serverless", self._serverless, got["applicationId"],
                        got["jobRunId"], sent)
        elif method == "GET" and _SERVERLESS_GET.match(path):
            got = json.loads(reply)
            run = self.runs.get(got["jobRun"]["jobRunId"])
            if run:
                got["jobRun"]["state"] = run.state
                got["jobRun"]["stateDetails"] = run.message
                return json.dumps(got).encode()
        return reply

    def _start(self, run_id: str, target: str, work: Any, *args: Any) -> None:
        run = self.runs[run_id] = Run(target)

        def go() -> None:
            with self._lock:
                try:
                    work(run, *args)
                except Exception as e:  # the twin's own failure: a failed run, said why
                    run.returncode, run.message = -1, f"twin: {type(e).__name__}: {e}"
                    run.stderr += f"\n{run.message}\n"
                ok = run.returncode == 0
                run.state = {"glue": ("SUCCEEDED", "FAILED"), "emr": ("COMPLETED", "FAILED"),
                             "emr-serverless": ("SUCCESS", "FAILED")}[target][0 if ok else 1]
                run.done.set()

        threading.Thread(target=go, daemon=True).start()

    # the three services ---------------------------------------------------------------------
    def _serverless(self, run: Run, app: str, run_id: str, request: dict[str, Any]) -> None:
        submit = request["jobDriver"]["sparkSubmit"]
        folder = self._driver_folder(run_id)
        # the service splits sparkSubmitParameters at whitespace, then spark-submit reads them
        tokens = submit.get("sparkSubmitParameters", "").split()
        args, driver_env = [], {}
        for i, token in enumerate(tokens):
            previous = tokens[i - 1] if i else ""
            if previous == "--conf" and "=" in token:
                key, value = token.split("=", 1)
                if key.startswith("spark.emr-serverless.driverEnv."):
                    driver_env[key.split(".", 3)[3]] = value
                    continue
                if key == "spark.archives":
                    value = self._archives(value, folder)
                if key == "spark.jars":
                    value = value.replace(DELTA_LIB, f"{self.cluster.image / 'delta'}/")
                token = f"{key}={value}"
            args.append(token)
        args = _drop_dangling_conf(args)
        entry = self._fetch(submit["entryPoint"], folder)
        self._submit(run, folder, [*args, str(entry), *submit.get("entryPointArguments", [])],
                     driver_env, classpath=False)
        monitoring = (request.get("configurationOverrides") or {}).get(
            "monitoringConfiguration", {}).get("s3MonitoringConfiguration", {})
        if monitoring.get("logUri"):
            root = monitoring["logUri"].rstrip("/")
            self._s3_logs(run, f"{root}/applications/{app}/jobs/{run_id}/SPARK_DRIVER/")

    def _emr_step(self, run: Run, cluster_id: str, step_id: str, step: dict[str, Any]) -> None:
        jar = step["HadoopJarStep"]
        args = list(jar["Args"])
        if jar["Jar"] != "command-runner.jar" or args[:1] != ["spark-submit"]:
            raise ValueError(f"the twin runs command-runner.jar spark-submit steps, got "
                             f"{jar['Jar']} {args[:1]}")
        folder = self._driver_folder(step_id)
        out, driver_env, i = [], {}, 1
        while i < len(args):
            a = args[i]
            if a == "--deploy-mode":  # YARN cluster mode -> client mode next to the master
                i += 2
                continue
            if a == "--archives":
                out += [a, self._archives(args[i + 1], folder)]
                i += 2
                continue
            if a == "--conf" and args[i + 1].startswith("spark.yarn.appMasterEnv."):
                key, value = args[i + 1].split("=", 1)
                driver_env[key.split(".", 3)[3]] = value
                i += 2
                continue
            if a.startswith("s3://") and a.endswith(".py"):
                out.append(str(self._fetch(a, folder)))
                out += args[i + 1:]
                break
            out.append(a)
            i += 1
        # the cluster's configuration (emr/configurations.json) as its spark-defaults
        defaults = _emr_spark_defaults()
        cluster_conf = [x for k, v in defaults.items() for x in ("--conf", f"{k}={v}")]
        self._submit(run, folder, [*cluster_conf, *out], driver_env, classpath=True)
        emr = self.client("emr", as_run=False)
        log_uri = emr.describe_cluster(ClusterId=cluster_id)["Cluster"].get("LogUri")
        if log_uri:
            self._s3_logs(run, f"{log_uri.rstrip('/')}/{cluster_id}/steps/{step_id}/")

    def _glue(self, run: Run, request: dict[str, Any], run_id: str) -> None:
        job = self.client("glue", as_run=False).get_job(JobName=request["JobName"])["Job"]
        arguments = {**job.get("DefaultArguments", {}), **(request.get("Arguments") or {})}
        folder = self._driver_folder(run_id)
        script = self._fetch(job["Command"]["ScriptLocation"], folder)
        self._glue_modules(run, arguments, folder)
        conf = []
        if "--conf" in arguments:  # Glue's one --conf: `k=v --conf k2=v2 ...`
            for pair in arguments["--conf"].split(" --conf "):
                conf += ["--conf", pair]
        argv = ["--JOB_NAME", job["Name"], "--JOB_RUN_ID", run_id,
                *[x for k, v in arguments.items() for x in (k, v)]]
        python = str(self.cluster.python)
        self._submit(run, folder, [*conf, str(script), *argv],
                     {"PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python},
                     classpath=arguments.get("--datalake-formats") == "delta")
        self._cloudwatch_logs(run, run_id)

    def _glue_modules(self, run: Run, arguments: dict[str, str], folder: Path) -> None:
        """--additional-python-modules, installed as Glue does: pip3 install, with the job's
        --python-modules-installer-option, into the image's Python (lakeprep removed first:
        every Glue run starts from the image)."""
        modules = [m for m in arguments.get("--additional-python-modules", "").split(",") if m]
        local = [str(self._fetch(m, folder)) if m.startswith("s3://") else m for m in modules]
        options = arguments.get("--python-modules-installer-option", "").split()
        pip = [str(self.cluster.python), "-m", "pip"]
        subprocess.run([*pip, "uninstall", "--yes", "--quiet", "lakeprep"], capture_output=True,
                       env=self.cluster.base_env())
        done = subprocess.run([*pip, "install", "--disable-pip-version-check", *options, *local],
                              capture_output=True, text=True, env=self.cluster.base_env())
        run.stdout += done.stdout
        if done.returncode:
            raise RuntimeError(f"--additional-python-modules: pip failed: "
                               f"{done.stderr.strip().splitlines()[-1:]}")
        installed = re.findall(r"Successfully installed (.*)", done.stdout)
        run.installed = installed[0].split() if installed else []
        # the rest of what the wheel requires, found in the image
        run.satisfied = re.findall(r"Requirement already satisfied: ([A-Za-z0-9_.\-]+)",
                                   done.stdout)

    # mechanics --------------------------------------------------------------------------------
    def _driver_folder(self, run_id: str) -> Path:
        folder = self.cluster.drivers_dir / run_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _fetch(self, uri: str, folder: Path) -> Path:
        """``uri`` in the run's folder, read as the run's role."""
        dest = folder / uri.rsplit("/", 1)[-1]
        os.link(self._kept(uri), dest)
        return dest

    def _kept(self, uri: str) -> Path:
        """The twin's copy of ``uri``, downloaded once per content (ETag): every run reads the
        object's metadata as its role, the 260 MiB archive is not downloaded per run."""
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        s3 = self.client("s3")
        etag = s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"').replace("/", "_")
        kept = self.cluster.drivers_dir / "_fetched" / etag / key.rsplit("/", 1)[-1]
        if not kept.is_file():
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_name(kept.name + ".partial")
            s3.download_file(bucket, key, str(partial))
            partial.rename(kept)
        return kept

    def _archives(self, value: str, folder: Path) -> str:
        """Fetch each archive, unpack it in the driver's folder under its alias (as the
        service's driver container has it) and give spark-submit the local file (the
        executors unpack their own copy)."""
        local = []
        for item in value.split(","):
            uri, _, alias = item.partition("#")
            path = self._fetch(uri, folder)
            # unpacked once per content, then linked into each run's folder: the same fresh
            # tree a service's container gets, in seconds
            unpacked = self._kept(uri).parent / "unpacked"
            if not unpacked.is_dir():
                partial = unpacked.with_name("unpacked.partial")
                shutil.rmtree(partial, ignore_errors=True)
                partial.mkdir()
                subprocess.run(["tar", "xzf", str(path), "-C", str(partial)], check=True)
                partial.rename(unpacked)
            subprocess.run(["cp", "-al", str(unpacked), str(folder / (alias or path.name))],
                           check=True)
            local.append(f"{path}#{alias}" if alias else str(path))
        return ",".join(local)

    def _submit(self, run: Run, folder: Path, args: list[str], driver_env: dict[str, str],
                classpath: bool) -> None:
        conf = dict(CLUSTER_CONF)
        jars = f"{self.cluster.jars}/*"
        # the image's classpath: S3 always (EMRFS / Glue's connector), Delta where the
        # service brings it (EMR with delta enabled, Glue --datalake-formats delta)
        s3_jars = ":".join(str(p) for p in sorted(self.cluster.jars.glob("*.jar"))
                           if "delta" not in p.name)
        conf["spark.driver.extraClassPath"] = jars if classpath else s3_jars
        conf["spark.executor.extraClassPath"] = jars if classpath else s3_jars
        conf["spark.local.dir"] = str(folder / "local")
        # the run's role credentials and network reach every executor of the run, as the
        # service's containers have them
        conf.update({f"spark.executorEnv.{k}": v for k, v in self.service_env.items()})
        tail = [x for k, v in conf.items() for x in ("--conf", f"{k}={v}")]
        # the request's own values first; the cluster's sizes and master override
        entry_at = next(i for i, a in enumerate(args) if a.endswith(".py") and
                        (i == 0 or args[i - 1] != "--conf"))
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", self.cluster.master_url,
               "--deploy-mode", "client", *args[:entry_at], *tail, *args[entry_at:]]
        run.argv = cmd
        env = {**self.cluster.base_env(), **self.service_env, **driver_env,
               "SPARK_LOCAL_DIRS": str(folder / "local")}
        hide = [*hidden_from_nodes(), self.cluster.workers_dir]
        before = self.cluster.applications()
        done = subprocess.run(isolated(cmd, hide), cwd=folder, env=env, capture_output=True,
                              text=True, timeout=1800)
        run.apps = sorted(self.cluster.applications() - before)
        run.executors = {app: self.cluster.executor_workers(app) for app in run.apps}
        run.returncode, run.stdout, run.stderr = done.returncode, run.stdout + done.stdout, \
            done.stderr
        if done.returncode:
            run.message = error_line(done.stdout, done.stderr) or \
                f"driver exited {done.returncode}"

    def _s3_logs(self, run: Run, folder_uri: str) -> None:
        bucket, prefix = folder_uri.removeprefix("s3://").split("/", 1)
        s3 = self.client("s3")
        for name, text in (("stdout.gz", run.stdout), ("stderr.gz", run.stderr)):
            s3.put_object(Bucket=bucket, Key=f"{prefix}{name}", Body=gzip.compress(text.encode()))

    def _cloudwatch_logs(self, run: Run, run_id: str) -> None:
        logs = self.client("logs")
        for group, text in (("/aws-glue/jobs/output", run.stdout),
                            ("/aws-glue/jobs/error", run.stderr)):
            try:
                logs.create_log_group(logGroupName=group)
            except logs.exceptions.ResourceAlreadyExistsException:
                pass
            logs.create_log_stream(logGroupName=group, logStreamName=run_id)
            now = int(time.time() * 1000)
            events = [{"timestamp": now, "message": line} for line in text.splitlines()
                      if line.strip()][-5000:]
            if events:
                logs.put_log_events(logGroupName=group, logStreamName=run_id, logEvents=events)


def error_line(stdout: str, stderr: str) -> str:
    """The driver's error line (the service's state details): lakeprep's ``error: ...``, or
    a Python exception's last line, from the Python driver's output (spark-submit merges its
    error stream into its output); else the last line of Spark's log."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(("error:", "Error:")):
            return lines[i]
        if lines[i].startswith("Traceback (most recent call last)"):
            return next((line for line in reversed(lines[i:]) if not line.startswith(
                ("at ", "..."))), lines[-1])
    jvm = [line.strip() for line in stderr.splitlines() if line.strip()]
    return jvm[-1] if jvm else ""


def _drop_dangling_conf(args: list[str]) -> list[str]:
    """A ``--conf`` whose value went to the driver's environment leaves no dangling flag."""
    out: list[str] = []
    for a in args:
        if out and out[-1] == "--conf" and a == "--conf":
            continue
        out.append(a)
    return out[:-1] if out and out[-1] == "--conf" else out


def _emr_spark_defaults() -> dict[str, str]:
    classes = json.loads((REPO / "emr" / "configurations.json").read_text())
    return next(c["Properties"] for c in classes if c["Classification"] == "spark-defaults")
