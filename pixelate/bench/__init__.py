"""The benchmark: the project against the tutorial code and the fastest peers (``make bench``)."""
