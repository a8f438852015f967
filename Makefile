# The two set-up commands of README.md: `make demo` (the main job) and
# `make test` (install what the tests need and run them). Both create the
# virtual environment .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Layer, model and loss tests run under both backends (issue: backend-neutral).
BACKEND_TESTS := tests/ops tests/layers tests/models tests/losses tests/inference \
	tests/evaluation/test_evaluator.py tests/training/test_validation_losses.py \
	tests/training/test_trainer_resume.py

# Tests run in TEST_WORKERS processes (pytest-xdist): 2 halves the TensorFlow
# suite on CI's 2 cores (16.5 -> 8.4 min); `make test TEST_WORKERS=auto` uses
# every core, `TEST_WORKERS=0` runs in this process.
TEST_WORKERS ?= 2

.PHONY: install test test-tf test-jax demo demo-markings quickstart clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[tests]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS)
	KERAS_BACKEND=jax $(PY) -m pytest -q -n $(TEST_WORKERS) $(BACKEND_TESTS)

test-tf: install
	$(PY) -m pytest -q -n $(TEST_WORKERS)

test-jax: install
	KERAS_BACKEND=jax $(PY) -m pytest -q -n $(TEST_WORKERS) $(BACKEND_TESTS)

quickstart: install
	$(PY) examples/quickstart.py

# The main job: train single-scale, max, average and attention models on the
# built-in synthetic dataset, evaluate them, print the table, draw pictures.
demo: install
	$(PY) training/compare.py --config training/configs/synthetic_tiny.yaml --out-dir runs/demo

# The harder variant with markings on the large discs (docs/results.md).
demo-markings: install
	$(PY) training/compare.py --config training/configs/synthetic_markings.yaml --out-dir runs/markings
	$(PY) training/markings.py --config training/configs/synthetic_markings.yaml --runs runs/markings

clean:
	rm -rf $(VENV) *.egg-info runs
