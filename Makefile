# Everything a fresh clone needs: `make demo` and `make test` create the venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv test test-fast demo bench clean package.json twins

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,onnx]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

# the tests of lib/ (marker lib) under CPython and the unix port: no boards, emulators or slow tests
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "lib and not board and not emulator and not slow"

bench: $(STAMP)
	$(BIN)/python bench/run.py

package.json:
	python3 tools/package_json.py

# lib/micronn/_plain_*.py: the viper modules without their decorators (after editing one of them)
twins:
	python3 tools/plain_twins.py
	python3 tools/package_json.py

clean:
	rm -rf $(VENV) build *.egg-info lib/*.egg-info .pytest_cache demo-out
