"""choreo: turn network intent into validated device configuration.

The core runtime. Plug-ins (``-r`` allocators, ``-s`` schema stage) live in sibling packages and are
found through entry points, so nothing in here imports them.
"""

__version__ = "0.1.0"
