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
RUN pip install "$(ls /tmp/lakeprep-*.whl)[inference]" && rm /tmp/lakeprep-*.whl \
    && python -c "import lakeprep.inference, sys; \
assert not [m for m in sys.modules if m.startswith(('pyspark', 'py4j'))]"

EXPOSE 8080
ENTRYPOINT ["python", "-m", "lakeprep.inference"]
CMD ["serve"]
