"""Raw files into typed rows with reasons: the readers of CSV, JSON lines and Parquet, the
per-file column mapping and the reasons a record is set aside (``reader``), those reasons as
data - code, column, value - and their grouping for people (``problems``), and the columns ingest
adds (``columns``).

The ingest job (``jobs.ingest``) runs them; anything may import this package but ``features``
and ``quality``, which stay pure (they may use ``columns`` and ``problems``, which do no I/O).
"""
