"""thrifty's version, in a module of its own: every layer may name it (``pack`` writes it in
each file's header), while the package's ``__init__`` is the facade above them all."""

__version__ = "0.1.0"
