"""Reconciler language engines (Starlark; Jinja2 and Go templates later), all behind one contract."""
