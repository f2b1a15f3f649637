#!/usr/bin/env bash
# EMR bootstrap action: install the lakeprep wheel (code + default conf) on every node.
#   --bootstrap-actions Path=s3://my-bucket/lakeprep/artifacts/0.1.0/bootstrap.sh,Args=[s3://my-bucket/lakeprep/artifacts/0.1.0/lakeprep-0.1.0-py3-none-any.whl]
set -euo pipefail
wheel_uri=${1:?usage: bootstrap.sh s3://bucket/path/lakeprep-<version>-py3-none-any.whl}
tmp=$(mktemp -d)
aws s3 cp "$wheel_uri" "$tmp/"
command -v python3.11 >/dev/null || sudo dnf install -y -q python3.11 python3.11-pip
# pyspark and delta-spark come with EMR: install the wheel without dependencies, then its
# requirements except those two (the rule lakeprep.aws.package.PROVIDED applies to the venv)
sudo python3.11 -m pip install --quiet --no-deps "$tmp"/*.whl
python3.11 - <<'PY' > "$tmp/requirements.txt"
import importlib.metadata as m, re
for r in m.requires("lakeprep") or []:
    if "extra ==" not in r and re.split(r"[\s<>=!~;\[(]", r)[0].lower() not in {"pyspark", "delta-spark"}:
        print(r)
PY
sudo python3.11 -m pip install --quiet -r "$tmp/requirements.txt"
