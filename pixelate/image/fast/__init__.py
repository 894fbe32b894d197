"""Fast paths for the common cases, each a leaf: the JPEG DCT-domain path (``jpeg_dc`` decodes at 1/8,
``jpeg_writer`` writes flat blocks) and the still-PNG path (``png_fast``). Each declines what it does not
handle by returning ``None``, and the general pipeline takes over."""
