"""``python -m ganapps`` — also what ``torchrun ... -m ganapps run APP ...`` starts on each node.

The repository root is mapped onto the ``ganapps`` namespace (``"ganapps" = "."`` in
``[tool.setuptools.package-dir]``) only to carry this file; the root holds no ``__init__.py``, so
``ganapps`` stays a namespace package and the wheel holds nothing but ``ganapps/...``.
"""

from ganapps.cli.main import main

if __name__ == "__main__":
    main()
