"""``python -m bulletin`` runs the CLI."""

from bulletin.cli import main

if __name__ == "__main__":
    main()
