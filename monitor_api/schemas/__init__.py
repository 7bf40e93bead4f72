"""Pydantic v2 schemas at the API edge: *Create / *Update for input, *Public for output. Inputs forbid unknown
fields, so a misspelt field is an error that names it rather than a silently ignored value."""
