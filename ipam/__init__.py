"""Allocation engines (IP prefix trees, ID pools) as a plain library with no knowledge of resources."""
