"""The command line in a subprocess or on a terminal."""
