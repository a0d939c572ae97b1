"""Demo mode: a local ServiceDesk Plus simulator and its sample data."""
