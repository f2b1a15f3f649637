# The serving image: lakeprep's fitted feature pipeline as a SageMaker inference container
# (GET /ping, POST /invocations on port 8080), no JVM, no Spark.
#
#   lakeprep package --target glue      # or: pip wheel --no-deps . -w dist/
#   docker build -t lakeprep-features .
#   docker run -p 8080:8080 -v "$MODEL_DIR":/opt/ml/model lakeprep-features serve
#
# SageMaker unpacks the model data (model.tar.gz of a pipeline folder) into /opt/ml/model and
# starts the container with the argument `serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY dist/lakeprep-*.whl /tmp/
# What `lakeprep serve` imports and nothing else: the wheel without its dependencies (the core's
# deltalake, Great Expectations, matplotlib... serve the Spark jobs, not inference), then numpy,
# pyarrow and the server (the `inference` extra), with the core's version ranges. `pip install
# lakeprep[inference]` gives the same runtime with the whole core, still without Spark.
RUN pip install --no-deps /tmp/lakeprep-*.whl && rm /tmp/lakeprep-*.whl \
    && pip install "numpy>=1.26,<2" "pyarrow>=18,<21" "falcon>=4,<5" "gunicorn>=23" \
    && python -c "import lakeprep.inference.serve, sys; \
assert not [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))]"

EXPOSE 8080
ENTRYPOINT ["python", "-m", "lakeprep.inference"]
CMD ["serve"]
