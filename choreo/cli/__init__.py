"""The ``choreo`` command line (click)."""
