"""Attack tests: every hostile project file or request that must be refused (SECURITY.md)."""
