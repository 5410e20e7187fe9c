# Batcher — the two commands a user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint sysdeps venv bench bench-team screenshots clean package

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Batcher needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash .ci/sysdeps.sh

run: sysdeps venv
	$(BIN)/batcher-gui $(ARGS)

lint: venv
	$(BIN)/ruff check batcher_gui tests bench packaging tools
	$(BIN)/mypy
	$(BIN)/lint-imports

test: sysdeps venv lint
	QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 NO_PROXY=127.0.0.1,localhost BATCHER_TEST_POSTGRES=required \
	  $(BIN)/python -m pytest $(PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

bench: venv
	$(BIN)/python bench/ingest.py 1000000
	$(BIN)/python bench/results.py 50000 1000000
	$(BIN)/python bench/results.py --anthropic 100000
	$(BIN)/python bench/stall.py 1000000 50000
	$(BIN)/python bench/tokens.py 1000000
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/ui.py 1000000
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/soak.py
	$(BIN)/python bench/hostile.py

# Team workspaces: each starts its own throwaway PostgreSQL server (tests/pg_cluster.py).
bench-team: venv
	$(BIN)/python bench/ingest.py 1000000 --database pg
	$(BIN)/python bench/intake.py --database pg
	$(BIN)/python bench/takeover.py --rounds 5
	$(BIN)/python bench/serve.py 1000000 --database pg

# The window under Xvfb on a demo workspace: one PNG per view, light and dark, in docs/screenshots.
screenshots: sysdeps venv
	rm -rf build/shots && mkdir -p docs/screenshots build/shots
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1680x1000x24" \
	  $(BIN)/python tools/screenshots.py docs/screenshots --scheme light --work build/shots
	QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1680x1000x24" \
	  $(BIN)/python tools/screenshots.py docs/screenshots --scheme dark --work build/shots

# The app for this machine, with PyInstaller, into dist/ (Linux: also the tarball with
# install.sh); see packaging/README.md.
package: sysdeps venv
	$(BIN)/python -m pip install --quiet -e ".[package]"
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
