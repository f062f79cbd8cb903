# The two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# Browser libraries the web pages load from /static/vendor/ (that folder is gitignored).
VENDOR := src/reelhouse/web/static/vendor
VENDOR_FILES := $(VENDOR)/hls.min.js $(VENDOR)/tus.min.js $(VENDOR)/uPlot.iife.min.js

.PHONY: install web-assets run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NODE_STAMP): package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: skipping JavaScript packages (browser assets and JS client tests)"; fi

$(VENDOR)/hls.min.js: $(NODE_STAMP)
	@if [ -f node_modules/hls.js/dist/hls.min.js ]; then \
		mkdir -p $(VENDOR) && cp node_modules/hls.js/dist/hls.min.js $@ \
		&& cp node_modules/hls.js/LICENSE $(VENDOR)/hls.js.LICENSE; \
	else echo "hls.js not installed: the embed player falls back to native HLS (Safari only)"; fi

$(VENDOR)/tus.min.js: $(NODE_STAMP)
	@if [ -f node_modules/tus-js-client/dist/tus.min.js ]; then \
		mkdir -p $(VENDOR) && cp node_modules/tus-js-client/dist/tus.min.js $@ \
		&& cp node_modules/tus-js-client/LICENSE $(VENDOR)/tus-js-client.LICENSE; \
	else echo "tus-js-client not installed: the dashboard's upload page cannot upload"; fi

$(VENDOR)/uPlot.iife.min.js: $(NODE_STAMP)
	@if [ -f node_modules/uplot/dist/uPlot.iife.min.js ]; then \
		mkdir -p $(VENDOR) && cp node_modules/uplot/dist/uPlot.iife.min.js $@ \
		&& cp node_modules/uplot/dist/uPlot.min.css $(VENDOR)/uPlot.min.css \
		&& cp node_modules/uplot/LICENSE $(VENDOR)/uplot.LICENSE; \
	else echo "uPlot not installed: the dashboard's analytics pages show tables without charts"; fi

web-assets: $(VENDOR_FILES)

install: $(STAMP) $(NODE_STAMP) web-assets

run: install
	$(BIN)/reelhouse serve

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

test: install lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .mypy_cache .ruff_cache .pytest_cache
