"""The catalog: the store every stage reads and writes, and the search backends."""
