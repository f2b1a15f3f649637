"""Raw files into typed rows with reasons: the readers of CSV, JSON lines and Parquet with the
per-file column mapping (``reader``), the reasons a record is set aside as data - code, column,
value - and their grouping for people (``problems``), ingest's column names (``columns``), PII
hashing (``pii``), the shared ingest log (``log``) and the reports whose counts must add up
(``report``).

The ingest job (``jobs.ingest``) runs them. ``columns`` and ``problems`` are pure and may be
imported by anything (``features`` and ``quality`` included); the rest does I/O and is for
``lakeprep`` and ``jobs``.
"""
