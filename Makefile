# Developer shortcuts. Everything runs with the dev venv that README.md sets up:
#   python3 -m venv .venv && .venv/bin/pip install -q '.[test]'
# Override with `make test PYTHON=python3` to use another interpreter.

PYTHON ?= .venv/bin/python
# The working tree's pdcheck, whether .venv holds an editable install or not.
PDCHECK ?= PYTHONPATH=tools $(PYTHON) -m pdcheck

# The flag catalogs pdcheck ships (tools/pdcheck/catalogs/<program>-<version>.json): `make catalogs`
# re-dumps exactly these from the real parsers. Add a version with
#   make catalogs SGLANG_VERSIONS=0.5.24 ROUTER_VERSIONS=
CATALOGS := tools/pdcheck/catalogs
SGLANG_VERSIONS ?= $(patsubst $(CATALOGS)/sglang-%.json,%,$(wildcard $(CATALOGS)/sglang-[0-9]*.json))
ROUTER_VERSIONS ?= $(patsubst $(CATALOGS)/sglang-router-%.json,%,$(wildcard $(CATALOGS)/sglang-router-*.json))

.PHONY: help test quick golden docs catalogs bench check

help:
	@echo "make test      run the tests as CI does (README's test command, without the venv setup)"
	@echo "make quick     run the tests but the slow ones (an edit-test loop)"
	@echo "make check     pdcheck validate overlays/"
	@echo "make golden    regenerate tests/golden/ from the overlays"
	@echo "make docs      regenerate docs/rules.md from the rule metadata"
	@echo "make catalogs  re-dump the shipped flag catalogs: sglang $(SGLANG_VERSIONS); router $(ROUTER_VERSIONS)"
	@echo "make bench     run the benchmarks"

test:
	$(PYTHON) -m pytest -q --slow

quick:
	$(PYTHON) -m pytest -q

golden:
	$(PYTHON) tools/regen_golden.py

docs:
	$(PYTHON) tools/gen_rules_doc.py

catalogs:
	$(PYTHON) tools/dump_flag_catalogs.py $(foreach v,$(SGLANG_VERSIONS),--sglang $(v)) $(foreach v,$(ROUTER_VERSIONS),--router $(v))

bench:
	$(PYTHON) benchmarks/bench.py

check:
	$(PDCHECK) validate overlays/
