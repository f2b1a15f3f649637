#!/usr/bin/env bash
# EMR bootstrap action: install the lakeprep wheel on every node.
#   --bootstrap-actions Path=s3://my-bucket/artifacts/bootstrap.sh,Args=[s3://my-bucket/artifacts/lakeprep-0.1.0-py3-none-any.whl]
set -euo pipefail
wheel_uri=${1:?usage: bootstrap.sh s3://bucket/path/lakeprep-<version>-py3-none-any.whl}
tmp=$(mktemp -d)
aws s3 cp "$wheel_uri" "$tmp/"
# pyspark and delta-spark come with EMR; do not let pip replace them
sudo python3.11 -m pip install --quiet "$tmp"/*.whl --no-deps
sudo python3.11 -m pip install --quiet deltalake "pydantic>=2.7,<3" PyYAML rich \
  "great-expectations>=1.3,<2" openlineage-python
