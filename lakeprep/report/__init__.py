"""Run reports: ``record`` (what a run did, kept as JSON next to the lake), ``stages`` (named
stages run into a record, timed, a listener told), ``run`` (the HTML report of a run record,
from the tables and the evidence the caller gathers) and ``html`` (self-contained pages, tables
and inline SVG plots). Imports nothing of ``jobs``, ``features`` or ``quality``; ``jobs.report``
and the demo use it.
"""
