"""Test infrastructure shared by the whole suite and the benchmarks.

Real registries (CNCF distribution) on loopback, a Docker-style token server, a
counting and misbehaving HTTP proxy in front of every registry, and helpers that
push images over the registry API. Nothing here imports ``ballast``: the
infrastructure must not depend on the code it tests.
"""
