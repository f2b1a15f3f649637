"""AWS side of lakeprep: where conf and secrets come from at run time, and the ``package``,
``deploy``, ``catalog register`` and ``iam-policy`` commands (boto3; every client honours
``AWS_ENDPOINT_URL`` so the same code talks to moto in tests).
"""
