"""Built-in reconcilers enabled by ``choreo run -r``: they bind the ``ipam`` engines to the kuid kinds."""
