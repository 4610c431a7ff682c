"""The package version, read by the build backend and by ``crmbridge --version``."""

__version__ = "0.1.0"
