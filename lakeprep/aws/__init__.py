"""AWS: the one boto3 client factory (``clients``), a conf fetched from S3 or a zip
(``confsource``), secrets read at run time (``secrets``), and the ``package``, ``deploy``,
``catalog register`` and ``iam-policy`` commands. Imports lakeprep's config and errors; imported
by the CLI, by storage (for its S3 client) and by ingest (for the PII salt secret).
"""
