# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# checkov pins many libraries of its own: it gets a venv of its own so it cannot break the project's.
TOOLS  := .tools

.PHONY: install test demo lab bench package lint lock clean

install: $(VENV)/.installed $(TOOLS)/.installed

# Every package pinned and its file's hash checked (requirements/*.txt, written by `make lock`); then the project
# itself, alone, with the build tools the lock installed.
$(VENV)/.installed: pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pixelate.deploy.face_model
	touch $@

$(TOOLS)/.installed: requirements/tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r requirements/tools.txt
	touch $@

# Re-resolve the locks (requirements/lambda.txt, dev.txt, tools.txt) from pyproject.toml and requirements/*.in:
# newest releases, hashes of every file; review the diff, then `make test`.
lock: install
	$(BIN)/python -m pixelate.deploy.locks

test: install
	$(BIN)/lint-imports
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(TOOLS)/bin:$$PATH" $(BIN)/pytest

demo: install
	$(BIN)/pixelate demo

lab: install
	$(BIN)/jupyter lab

bench: install
	$(BIN)/pixelate bench

package: install
	$(BIN)/pixelate package

lint: install
	$(BIN)/cfn-lint cloudformation.yaml
	$(TOOLS)/bin/checkov --quiet --compact --skip-download -f cloudformation.yaml

clean:
	rm -rf $(VENV) $(TOOLS) out build dist .pixelate notebooks/executed test-artifacts
