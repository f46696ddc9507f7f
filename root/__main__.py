"""``python -m ganapps`` — also what ``torchrun ... -m ganapps run APP ...`` starts on each node.

This folder is the ``ganapps`` namespace itself (see ``[tool.setuptools.package-dir]``); it holds
no ``__init__.py``, so ``ganapps`` stays a namespace package that plugins may extend.
"""

from ganapps.cli.main import main

if __name__ == "__main__":
    main()
