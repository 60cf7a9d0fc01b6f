"""The Python baseline of the `session` bench: parse every line of a JSONL
file with the standard library's json module (its C scanner) and print the
best of N runs in seconds. Usage: python_parse.py FILE [RUNS]"""

import json
import sys
import time


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = None
    for _ in range(runs):
        start = time.perf_counter()
        with open(path, "rb") as f:
            for line in f:
                json.loads(line)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    print(f"{best:.6f}")


if __name__ == "__main__":
    main()
