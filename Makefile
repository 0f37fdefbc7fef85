# `make run` and `make test` are the two commands in the README; everything else is their set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint translations extract-messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d translations -f

# Run after adding or changing UI text, then translate the new entries in the ko .po file.
# The keywords here are mirrored in tests/test_translations.py, which fails when the
# catalogue is out of date.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
		--project helpdesk -o translations/messages.pot .
	if [ -f translations/ko/LC_MESSAGES/messages.po ]; then \
		$(BIN)/pybabel update -i translations/messages.pot -d translations -l ko --no-fuzzy-matching; \
	else \
		$(BIN)/pybabel init -i translations/messages.pot -d translations -l ko; \
	fi

run: $(STAMP) translations
	$(BIN)/helpdesk migrate
	$(BIN)/helpdesk run

test: $(STAMP) translations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) .pytest_cache
