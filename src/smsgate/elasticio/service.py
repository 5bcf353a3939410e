"""``python -m smsgate.elasticio.service``: the runtime's service for this component, at the
path the image and the README name (see :mod:`smsgate.sailor.service`)."""

import sys

from smsgate.sailor.service import main

if __name__ == "__main__":
    sys.exit(main())
