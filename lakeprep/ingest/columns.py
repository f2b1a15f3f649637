"""The columns ingest adds to what it reads: every bronze row's metadata, and what a quarantined
record keeps so that it can be replayed. One list, which the conf checks, the reader, the
ingest job and the run report all use.

>>> METADATA_COLUMNS
('_source_file', '_ingested_at', '_run_id')
"""

SOURCE_FILE, INGESTED_AT, RUN_ID = "_source_file", "_ingested_at", "_run_id"
# every bronze row: which raw file, when, by which run
METADATA_COLUMNS = (SOURCE_FILE, INGESTED_AT, RUN_ID)
RAW_RECORD = "_raw_record"  # the line's text (U+FFFD where it was not valid UTF-8)
RAW_BYTES = "_raw_bytes"  # the line's exact bytes, kept only when they are not valid UTF-8
RAW_HEADER = "_raw_header"  # a CSV record's header line: its file's field names, for replays
RAW_COLUMNS = (RAW_RECORD, RAW_BYTES, RAW_HEADER)  # kept in quarantine only
REASONS = "_reasons"  # why a record was set aside while reading it (the readable messages)
# the same reasons as data: code, column, value, message (lakeprep.ingest.problems)
PROBLEMS = "_problems"
FAILED_EXPECTATIONS = "_failed_expectations"  # why a row was set aside by a gate
EXTRA = "_extra"  # declared as map<string,string>: undeclared keys of a record land here
EXTRA_TYPE = "map<string,string>"
