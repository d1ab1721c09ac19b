"""The words: the pager line within its budget, the long output, the service list. Pure: they read a Reading."""
