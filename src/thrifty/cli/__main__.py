"""``python -m thrifty.cli``: the ``thrifty`` command."""

from thrifty.cli import main

if __name__ == "__main__":
    main()
