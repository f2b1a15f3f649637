"""Raw files into typed rows with reasons: the readers of CSV, JSON lines and Parquet, the
per-file column mapping, and the reasons a record is set aside (``reader``).

The ingest job (``jobs.ingest``) runs them; anything may import this package but ``features``
and ``quality``, which stay pure.
"""
