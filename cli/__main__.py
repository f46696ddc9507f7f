"""``python -m ganapps.cli`` (also what ``torchrun -m ganapps.cli`` starts)."""

from ganapps.cli.main import main

if __name__ == "__main__":
    main()
