from screenkit.cli import run

if __name__ == "__main__":  # not when a worker process re-imports it (Dask, multiprocessing)
    run()
