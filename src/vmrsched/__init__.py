"""vmrsched."""
