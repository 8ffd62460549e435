"""Admin screens, one module per concern; importing them registers them."""
