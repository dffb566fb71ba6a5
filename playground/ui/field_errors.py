"""Field errors on the field itself (being built)."""

FIELD_ERRORS_JS = "() => {}"
FIELD_ERRORS_CSS = ""
