"""``python -m smsgate.elasticio.local``: the runtime's local for this component, at the
path the image and the README name (see :mod:`smsgate.sailor.local`)."""

import sys

from smsgate.sailor.local import main

if __name__ == "__main__":
    sys.exit(main())
