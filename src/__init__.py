"""Enhancer: enriches new ServiceDesk Plus tickets before a technician opens them."""
