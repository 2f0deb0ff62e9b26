# Each target creates/updates .venv itself, so a fresh clone needs nothing installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint fuzz clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/soar demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra --durations=20

test-fast: install
	$(BIN)/python -m pytest -q -m "not integration and not slow"

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= decode detectors playbook rule expression otlp identity

# coverage-guided fuzzing (tests/fuzz/); corpora are kept in .fuzz/ between runs
fuzz: install
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p .fuzz/$$t/corpus .fuzz/$$t/artifacts; \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
		$(BIN)/python -m tests.fuzz.run $$t --seed-corpus -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
			-timeout=60 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix=.fuzz/$$t/artifacts/ \
			.fuzz/$$t/corpus 2>&1 | grep -E "^(INFO: seed|#[0-9]+ +DONE|Done|stat::|===|[A-Za-z]*Error)|artifact" \
			|| true; \
		if ls .fuzz/$$t/artifacts/* >/dev/null 2>&1; then echo "$$t: failing inputs in .fuzz/$$t/artifacts/"; exit 1; fi; \
	done

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf .soar .demo .demo-failed-* .pytest_cache
