"""``python -m pixelate.cli`` is the ``pixelate`` command."""
import sys

from pixelate.cli import main

sys.exit(main())
