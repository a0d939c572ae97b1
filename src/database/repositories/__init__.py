"""Repository functions: every query the service runs, taking the session first."""
