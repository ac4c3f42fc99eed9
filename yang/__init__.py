"""The schema stage enabled by ``choreo run -s``: merge device snippets and validate them with libyang."""
