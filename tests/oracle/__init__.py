"""Reference implementations the tests compare against (never imported by screenkit)."""
