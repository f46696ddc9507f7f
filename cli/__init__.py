"""The ``ganapps`` command line: one small module per command group."""
