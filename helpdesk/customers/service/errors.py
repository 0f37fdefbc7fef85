"""The refusals of the customer rules: each maps the offending form fields to their messages."""

from __future__ import annotations

from collections.abc import Mapping

from helpdesk.text import LazyText


class InvalidInput(ValueError):
    """Refused input; ``errors`` maps each offending form field name to its message."""

    def __init__(self, errors: Mapping[str, LazyText]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


class CustomerInvalid(InvalidInput):
    pass


class CustomFieldInvalid(InvalidInput):
    pass


class PurchaseInvalid(InvalidInput):
    pass


class NoteInvalid(InvalidInput):
    pass


class FilterInvalid(InvalidInput):
    pass
