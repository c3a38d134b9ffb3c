# maxim-bot: `make run` starts the console bot, `make test` runs lint, types and the suite.
PYTHON ?= python3
# One venv per interpreter, so that `make test PYTHON=python3.13` runs on 3.13 instead of
# reusing a venv another Python built. The default keeps `.venv`, where the README's commands
# and the pre-commit hooks look: `.venv` for python3, `.venv-python3.13` for PYTHON=python3.13.
VENV := $(if $(filter python3,$(PYTHON)),.venv,.venv-$(notdir $(PYTHON)))
BIN := $(VENV)/bin
# The interpreter itself: PYTHON when it runs, else (pyenv installs python3.13 without putting
# it on PATH unless it is among the active versions) the newest pyenv version that has it.
PYTHON_EXE := $(shell $(PYTHON) -c 'import sys; print(sys.executable)' 2>/dev/null || \
    ls -1d "$$(pyenv root 2>/dev/null)"/versions/*/bin/$(notdir $(PYTHON)) 2>/dev/null \
    | sort -V | tail -n 1)
ARGS ?=

.PHONY: run test test-fast lint types pytest bench mutate install clean constraints venv-check audit \
    audit-web

$(BIN)/python:
	@[ -n "$(PYTHON_EXE)" ] || { echo "$(PYTHON) not found: install it, or pass PYTHON=/path/to/python"; exit 1; }
	$(PYTHON_EXE) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A venv keeps the Python that made it. When `python3` has moved on since (a new pyenv
# global, an upgraded distribution), stop with a hint instead of testing the old one.
PYTHON_VERSION := import sys; print("%d.%d" % sys.version_info[:2])
venv-check: | $(BIN)/python
	@want=$$($(PYTHON_EXE) -c '$(PYTHON_VERSION)'); have=$$($(BIN)/python -c '$(PYTHON_VERSION)'); \
	if [ "$$want" != "$$have" ]; then \
	    echo "$(VENV) runs Python $$have but $(PYTHON) is $$want: rm -rf $(VENV) and run make again"; \
	    exit 1; fi

# Byte-compiling matters: with PYTHONDONTWRITEBYTECODE set, every `maxim` call would
# otherwise compile the core from source, tripling its start-up time.
$(VENV)/.installed-run: pyproject.toml constraints.txt | venv-check
	$(BIN)/pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m compileall -q maxims bot
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | venv-check
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	$(BIN)/python -m compileall -q maxims bot
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/maxim-bot run $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	@big=$$(find maxims bot -name '*.py' -not -path '*/migrations/*' | xargs wc -l \
	    | awk '$$2 != "total" && $$1 > 450 {print "  " $$2 " (" $$1 " lines)"}'); \
	if [ -n "$$big" ]; then echo "source files over 450 lines (split them by meaning):"; \
	    echo "$$big"; exit 1; fi
	$(BIN)/hadolint Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec compose.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml

types: $(VENV)/.installed-test
	$(BIN)/mypy

# The suite mostly waits (child processes starting, PostgreSQL, emulated timeouts), so it runs
# in more pytest-xdist workers than there are cores: 4 measured best on two cores (see
# CONTRIBUTING.md). loadgroup hands out one test at a time, so a slow test never queues others
# behind it, and keeps each `xdist_group` (a module sharing an expensive fixture) on one worker.
PYTEST_WORKERS ?= 4
XDIST := -n $(PYTEST_WORKERS) --dist loadgroup

pytest: $(VENV)/.installed-test
	$(BIN)/pytest $(XDIST)

test: lint types pytest

# pip-audit of every version pinned in constraints.txt against OSV. Where OSV is out of reach
# (no internet but the package registries) it says so in one line and passes; a known
# vulnerability always fails. CI runs it (.ci/run); not part of `test`, whose result should
# not depend on the network.
audit: $(VENV)/.installed-test
	$(BIN)/python .ci/audit.py constraints.txt

# Lighthouse's accessibility, best-practices and SEO scores of / and /maxims/34, served by a
# real `maxim-bot run` with only the pages, in Debian's Chromium (`apt-get install chromium`):
# exits 1 under 0.95, 0.9, 0.9 (bench/audit_web.py; ARGS="--url URL" audits pages already
# served). Lighthouse comes from bench/lighthouse/package-lock.json, installed again when the
# lock changes: 185 MB and about 15 s, so neither CI nor `make bench` needs it.
LIGHTHOUSE_INSTALLED := bench/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE_INSTALLED): bench/lighthouse/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix bench/lighthouse
	touch $@

audit-web: $(VENV)/.installed-test $(LIGHTHOUSE_INSTALLED)
	$(BIN)/python bench/audit_web.py $(ARGS)

# The inner loop: the core and the in-process tests, no child process and no PostgreSQL.
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest $(XDIST) -m "not postgres and not bot_process and not child_process"

bench: $(VENV)/.installed-test
	$(BIN)/python -m compileall -q maxims bot
	$(BIN)/python bench/run.py

# Mutation testing of the core against tests/maxims (config: [tool.mutmut] in pyproject.toml;
# equivalent survivors: tests/maxims/MUTANTS.md). Minutes on two cores, so not part of `test`.
# mutmut keeps its copy and results in mutants/: `$(BIN)/mutmut browse` to inspect them.
MUTATE_JOBS ?= 2
mutate: $(VENV)/.installed-test
	$(BIN)/mutmut run --max-children $(MUTATE_JOBS)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	t = s['total'] - s['no_tests'] - s['skipped']; k = s['killed'] + s['timeout']; \
	print(f'mutmut: killed {k} of {t} mutants with tests ({k / t:.1%}); {s[\"survived\"]} survived')"

clean:
	rm -rf .venv .venv-* .mypy_cache .pytest_cache .ruff_cache .hypothesis mutants

# The exact versions of everything `make test` installs, for a fresh clone to test what CI did.
# The pins only another Python installs (a python_version marker) are kept as they are.
constraints: $(VENV)/.installed-test
	{ sed -n '1,/^[^#]/{/^#/p}' constraints.txt; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^maxim-bot'; \
	  grep ' ; python_version' constraints.txt || true; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
