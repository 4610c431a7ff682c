"""The daemon's HTTP routes, one router per concern, sharing one :class:`AppContext`."""
