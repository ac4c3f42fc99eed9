"""The API machinery: kind registry from CRDs, OpenAPI validation and defaulting, server-side apply
with managed fields, finalizers and owner-reference garbage collection, all over a store backend."""
