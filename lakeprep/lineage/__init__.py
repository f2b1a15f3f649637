"""Lineage out and back: OpenLineage run events for every job run, and the tree of a table version.

A job run owns its lineage (``lakeprep.runtime.job``): it sends START when it begins, then
COMPLETE with the datasets it read and wrote (every lake commit of the run is recorded as it is
made), or FAIL with the error (ABORT when interrupted). Events go to a JSON-lines file under the
lake's system folder by default, or to an HTTP endpoint (``conf/*/lineage.yaml``). Sending never
fails a job: a transport error is logged as a warning. ``lineage_tree`` walks the other way, from a
table version's commit metadata through the upstream table versions it read down to the raw files.

- ``transport``: where events go (the ``lineage:`` section);
- ``facets``: lakeprep's custom facets;
- ``datasets``: tables and raw files as lineage datasets;
- ``emit``: building and sending a run's events, reading them back;
- ``tree``: the upstream tree of a table version.

Example::

    rich.print(lineage_tree(ctx, "customer_features"))
"""

from lakeprep.lineage.datasets import DatasetRef, dataset_id, files_ref, input_refs, table_ref
from lakeprep.lineage.emit import (
    LineageEmitter,
    LineageRun,
    RunInfo,
    event_from_dict,
    read_events,
    run_uuid,
)
from lakeprep.lineage.facets import PRODUCER
from lakeprep.lineage.tree import lineage_graph, lineage_tree, render_tree

__all__ = [
    "PRODUCER", "DatasetRef", "LineageEmitter", "LineageRun", "RunInfo", "dataset_id",
    "event_from_dict", "files_ref", "input_refs", "lineage_graph", "lineage_tree", "read_events",
    "render_tree", "run_uuid", "table_ref",
]
