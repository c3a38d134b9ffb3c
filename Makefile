# maxim-bot: `make run` starts the console bot, `make test` runs lint, types and the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: run test test-fast lint types pytest bench mutate install clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Byte-compiling matters: with PYTHONDONTWRITEBYTECODE set, every `maxim` call would
# otherwise compile the core from source, tripling its start-up time.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m compileall -q maxims bot
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
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
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis mutants

# The exact versions of everything `make test` installs, for a fresh clone to test what CI did.
constraints: $(VENV)/.installed-test
	{ echo "# The exact versions CI tested (make test and make run install with them: pip -c)."; \
	  echo "# Refresh after changing dependencies: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^maxim-bot'; } > constraints.txt
