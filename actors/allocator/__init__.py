"""The allocator's pure core: DRF sorting and the hierarchical offer policy.

The master's allocator actor (written elsewhere) owns one ``HierarchicalAllocator``,
feeds it cluster events and calls ``allocate()`` on its timer; offers come back
through the callback given at construction.
"""

from actors.allocator.sorter import DRFSorter, Sorter

__all__ = ["DRFSorter", "Sorter"]
