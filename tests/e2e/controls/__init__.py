"""Write controls against a running daemon process."""
