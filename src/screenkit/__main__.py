import sys

from screenkit.cli import main

sys.exit(main())
