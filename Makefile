# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# checkov pins many libraries of its own: it gets a venv of its own so it cannot break the project's.
TOOLS  := .tools

.PHONY: install test demo lab bench package lint clean

install: $(VENV)/.installed $(TOOLS)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m pixelate.deploy.face_model
	touch $@

$(TOOLS)/.installed:
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet checkov
	touch $@

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
