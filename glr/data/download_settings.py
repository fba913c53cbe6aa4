"""The defaults of `fetch --from-urls` (glr.data.downloads), in a module that imports nothing.

`glr.data.downloads` takes them from here; the command line's help reads them here, so `python -m glr --help`
does not import pandas and sklearn for six numbers.
"""

WORKERS = 8
RATE = 10.0  # requests per second, across the pool
TIMEOUT = 30.0  # seconds to connect, and between two bytes of the answer
RETRIES = 3
USER_AGENT = "glr-fetch/1.0 (GLDv2 landmark recognition toolkit; python-requests)"
DEADLINE = 300.0  # seconds for one photo's whole answer: TIMEOUT alone lets a server that drips a byte at a time hold a worker for ever
