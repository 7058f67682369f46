#!/usr/bin/python3
"""A process that has nothing to do with Ferry and wakes every 1 ms for SECONDS: the spacing of
its wake-ups is what the machine itself allows any program at that moment (the control for the
Victim's own main-loop ticker). Prints one JSON line: the gaps' p50/p99/max in ms.
  bystander.py SECONDS"""
import json
import sys
import time

gaps = []
end = time.monotonic() + float(sys.argv[1])
last = time.monotonic()
while last < end:
    time.sleep(0.001)
    now = time.monotonic()
    gaps.append((now - last) * 1000)
    last = now
gaps.sort()
print(json.dumps({'calls': len(gaps), 'p50': round(gaps[len(gaps) // 2], 2), 'p99': round(gaps[int(len(gaps) * 0.99)], 2),
                  'max': round(gaps[-1], 2)}))
