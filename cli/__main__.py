"""``python -m ganapps.cli``, the same as ``python -m ganapps`` (what ``ganapps run --nproc`` starts)."""

from ganapps.cli.main import main

if __name__ == "__main__":
    main()
