"""Migration scripts, one per schema revision, oldest first (`v0001_...`)."""
