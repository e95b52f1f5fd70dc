"""The nightly job, what one night asks of it, its schedule and its sensors."""
