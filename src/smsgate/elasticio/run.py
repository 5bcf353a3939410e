"""``python -m smsgate.elasticio.run``: the runtime's run for this component, at the
path the image and the README name (see :mod:`smsgate.sailor.run`)."""

import sys

from smsgate.sailor.run import main

if __name__ == "__main__":
    sys.exit(main())
