"""Close the OpenLineage runs a killed job left open: a START with no COMPLETE, FAIL or ABORT.

A process killed with SIGKILL (an OOM kill, a lost EMR node, a cancelled step) never sends its
end event, so lineage consumers show the run as running forever. ``close_dangling_runs`` sends
an ABORT for each such run of the file transport's events, except a run whose driver process
(host and pid, in its ``lakeprep_run`` facet) still runs on this host. A run started on another
host cannot be told alive from here: run ``lakeprep vacuum`` (which calls this) when no job of
another host is running.

Example::

    close_dangling_runs(load_settings("local"))
    # -> 1
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from lakeprep.config.sections import FileTransportConf
from lakeprep.lake.lease import process_alive
from lakeprep.lineage.emit import LineageEmitter, read_events
from lakeprep.uris import is_remote, local_path

if TYPE_CHECKING:
    from lakeprep.config import Settings

log = logging.getLogger(__name__)
_ENDED = {RunState.COMPLETE, RunState.FAIL, RunState.ABORT}


def close_dangling_runs(settings: Settings, dry_run: bool = False) -> int:
    """Send ABORT for every run whose events stop at START and whose process is not running
    here; how many were closed (would be, with ``dry_run``)."""
    conf = settings.lineage.transport
    emitter = LineageEmitter.from_settings(settings)
    if emitter.transport is None or not isinstance(conf, FileTransportConf):
        return 0  # an HTTP endpoint's events cannot be read back from here
    path = conf.path or (settings.system_table("openlineage") + "/events.jsonl"
                         if settings.lake.system else None)
    if not path or is_remote(path):
        return 0
    local = Path(local_path(path))
    if not local.exists():
        return 0
    last: dict[str, RunEvent] = {}
    for event in read_events(local):
        if event.eventType == RunState.START or event.eventType in _ENDED:
            last[str(event.run.runId)] = event
    closed = 0
    for run_id, event in last.items():
        if event.eventType != RunState.START:
            continue
        process = (event.run.facets or {}).get("lakeprep_run")
        if process_alive(getattr(process, "host", None), getattr(process, "pid", None)):
            log.info("lineage: run %s of job %s is still running (pid %s): left open", run_id,
                     event.job.name, getattr(process, "pid", None))
            continue
        closed += 1
        if dry_run:
            continue
        emitter.transport.emit(RunEvent(
            eventType=RunState.ABORT, eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=run_id), job=Job(namespace=event.job.namespace, name=event.job.name),
            producer=event.producer, inputs=[], outputs=[]))
        log.info("lineage: closed run %s of job %s with ABORT (it never ended)", run_id,
                 event.job.name)
    return closed
