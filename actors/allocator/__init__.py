"""The allocator's pure core: DRF sorting and the hierarchical offer policy.

The master's ``AllocatorActor`` (``actors.allocator.actor``, imported from there and
not re-exported here) owns one ``HierarchicalAllocator``, feeds it cluster events and
calls ``allocate()`` on its timer; offers come back through the callback given at
construction. Apart from that actor module, nothing in this package imports pykka,
zmq or threads.
"""

from actors.allocator.config import AllocatorConfig, Clock
from actors.allocator.hierarchical import Allocator, HierarchicalAllocator, OfferCallback
from actors.allocator.sorter import DRFSorter, Sorter

__all__ = [
    "Allocator",
    "AllocatorConfig",
    "Clock",
    "DRFSorter",
    "HierarchicalAllocator",
    "OfferCallback",
    "Sorter",
]
