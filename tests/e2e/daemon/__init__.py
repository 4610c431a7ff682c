"""The daemon process: start, signals, outages, replicas, logs."""
