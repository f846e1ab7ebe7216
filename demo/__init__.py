"""Demo mode: the demo data (`python -m server demo`), generated rosters and the page of the demo graduates'
emulated phones. Never part of a production deployment."""
