"""The network floor: ``Sequential`` (layers + loss + optimizer over one flat parameter vector) and the fused
dense-network plan that runs a whole epoch in one kernel call."""
from .background import set_background_compile
from .sequential import Sequential

__all__ = ["Sequential", "set_background_compile"]
