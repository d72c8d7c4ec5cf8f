import sys

from mlkit.acceptance.cli import main

sys.exit(main())
