"""Admin screens, one module per concern; importing them registers them."""
from . import subscribers  # noqa
from . import health  # noqa: F401  (delivery events, sending health)
