"""``python -m choreo``: the same command line as the ``choreo`` console script."""

from choreo.cli.main import run_as_module

run_as_module()
