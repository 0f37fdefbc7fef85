"""Customer records: the centre every other feature writes to and reads from."""
