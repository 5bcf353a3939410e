# Everything a fresh machine needs comes from here: `make demo`, `make test`, `make bench`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tests/node/node_modules/.installed-stamp

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)
	touch $(STAMP)

$(NODE_STAMP): tests/node/package-lock.json scripts/node.sh
	bash scripts/node.sh
	touch $(NODE_STAMP)

demo: $(STAMP)
	@echo "== segments: what a text costs"
	$(VENV)/bin/smsgate segments "Bonjour ! Votre code est 4821. Répondez STOP au 36180."
	@echo "== send: one SMS through the AllMySMS protocol to the embedded sandbox"
	$(VENV)/bin/smsgate send --to "06 12 34 56 78, +44 7911 123456, 0612345678, not-a-number" \
		--from Demo "Bonjour ! Votre code est 4821. Répondez STOP au 36180."
	@echo "== the same report as JSON"
	$(VENV)/bin/smsgate send --to "06 12 34 56 78" --from Demo --json "Hello from smsgate"
	@echo "== every message is on record (the message store)"
	$(VENV)/bin/smsgate messages --limit 3

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

test: lint $(NODE_STAMP)
	bash scripts/services.sh
	bash scripts/browser.sh
	$(PY) -m pytest

bench: $(STAMP)
	bash scripts/services.sh
	bash scripts/browser.sh
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) tests/node/node_modules .mypy_cache .ruff_cache .hypothesis build src/*.egg-info
