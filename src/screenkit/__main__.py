import sys

from screenkit.cli import main

if __name__ == "__main__":  # not when a worker process re-imports it (Dask, multiprocessing)
    sys.exit(main())
