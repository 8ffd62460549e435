"""Admin screens, one module per concern; importing them registers them."""
from . import subscribers  # noqa
from . import health  # noqa: F401  (delivery events, sending health)
from . import digests  # noqa: F401  (digest records, retry, preview)
