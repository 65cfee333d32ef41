# make run   : install (once) and run the main job (embedding sweep) into ./runs
# make test  : install (once) and run the test suite
# make bench : batched-vs-one-at-a-time benchmark
# make replicate : run the sweeps behind the paper's claims, write docs/replication.md
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WORKDIR ?= ./runs

.PHONY: install run test bench replicate clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m experiments.sweep --config=configs/embedding_sweep.py --workdir=$(WORKDIR)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadscope tests

bench: $(STAMP)
	$(BIN)/python -m experiments.bench

replicate: $(STAMP)
	$(BIN)/python -m experiments.replicate --workdir=$(WORKDIR)

clean:
	rm -rf $(VENV) runs
