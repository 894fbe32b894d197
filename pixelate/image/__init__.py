"""The image library: bytes in, pixelated bytes out, or a classified rejection. No AWS, no I/O.

``pipeline.pixelate_bytes`` runs the named steps (sniff → guard → decode → orient → pixelate → encode) over
the modules beside it; ``fast/`` holds the JPEG and PNG fast paths, leaves that import nothing above them.
The package's public API (``pixelate.pixelate_bytes`` …) re-exports what callers need from here.
"""
