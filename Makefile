# Two entry points, each doing all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS ?= examples/requirements.yaml
# Where the CPU build of torch comes from. Empty: pip's own sources (these machines hold torch 2.13.0 CPU on local
# disk). Elsewhere set it to PyTorch's CPU index, or a bare torch requirement pulls the multi-GB CUDA build:
#   make test TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=
TORCH_INDEX := $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL),)

.PHONY: run test setup clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, from the pinned CPU build: a bare torch requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet $(TORCH_INDEX) torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# bytecode for our own modules: the editable install compiles none, and every command's start-up pays for it
	$(BIN)/python -m compileall -q embedwise
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/embedwise kb build
	$(BIN)/embedwise recommend --requirements $(REQUIREMENTS) --top 10

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV)
