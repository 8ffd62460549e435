"""Admin screens, one module per concern; importing them registers them."""
from . import subscribers  # noqa
