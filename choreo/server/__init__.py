"""Long-running mode and its Kubernetes-compatible HTTP API (see issue 6)."""
