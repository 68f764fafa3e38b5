# The two commands: `make run` (whole example pipeline, set-up included) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

# Two pytest-xdist workers; the two whole-pipeline chains (local runs, SLURM) start first, one on
# each (tests/conftest.py). PYTEST_PARALLEL= runs the tests in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadgroup --no-loadscope-reorder

.PHONY: run test unit lint dryrun report bench clean system-deps run-deps bytecode

run: $(STAMP) run-deps bytecode
	$(BIN)/snakemake --workflow-profile profiles/default

test: $(STAMP) system-deps bytecode
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest $(PYTEST_PARALLEL)

# In-process tests only (no Snakemake runs, wheel or SLURM): a few minutes.
unit: $(STAMP) bytecode
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) tests/unit

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Bytecode of the installed packages (uv --compile-bytecode above) and of disease_risk, written
# ahead: every rule runs in its own Python process, and where PYTHONDONTWRITEBYTECODE is set
# (as on the machines measured here) each would otherwise compile pandas, SciPy, PyMC... from
# source again: 2-8 s per job (bench/README.md, "eighth step").
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q disease_risk

# Debian packages: pango for the PDF report (WeasyPrint) in every run; for the tests also headless
# chromium (report check), SLURM and munge (scheduler test). Installed only when running as root
# and missing.
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0
SYSTEM_PACKAGES := $(RUN_PACKAGES) chromium slurm-wlm munge
define install_debian_packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "not root: install$$missing yourself (steps needing them fail or skip)"; fi; \
	fi
endef

run-deps:
	$(call install_debian_packages,$(RUN_PACKAGES))

system-deps:
	$(call install_debian_packages,$(SYSTEM_PACKAGES))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint

dryrun: $(STAMP)
	$(BIN)/snakemake --workflow-profile profiles/default -n

report: $(STAMP)
	$(BIN)/snakemake --workflow-profile profiles/default --report results/report/snakemake_report.zip

bench: $(STAMP)
	$(BIN)/python bench/seroprevalence.py
	$(BIN)/python bench/transmission.py
	$(BIN)/python bench/calibration.py
	$(BIN)/python bench/lineage_typing.py

clean:
	rm -rf results .snakemake
