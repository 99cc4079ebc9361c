"""A local Exchange (Entra-shaped token endpoint and EWS) for tests, benchmarks and the demo."""
