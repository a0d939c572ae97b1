"""Sample KB articles, past tickets, assets and networks used by ``enhancer demo``."""

from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
