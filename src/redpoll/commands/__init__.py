"""Command implementations, one module per Redis command group."""
