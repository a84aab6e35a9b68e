"""Mutation campaign on an audit log (issue 16, point 4).

    python fuzz/audit_mutations.py LOG N

Applies N random one-place mutations to LOG (flip, insert or delete a byte; unquote
a number; quote a `seq`; add a duplicate key) and checks that `audit.check` refuses
every changed byte string with a coded problem and never raises. Prints the counts.
"""

import random
import sys
import tempfile
import time
from pathlib import Path

from stratdsl.provenance import audit

src = Path(sys.argv[1])
n = int(sys.argv[2])
original = src.read_bytes()
tmp = Path(tempfile.mkdtemp()) / "m.jsonl"
rnd = random.Random(16)
counts: dict[str, int] = {}
undetected = 0
crashes = 0
t = time.monotonic()
for _ in range(n):
    data = bytearray(original)
    how = rnd.choice(["flip", "insert", "delete", "swapdigit", "quote", "dupkey"])
    at = rnd.randrange(len(data))
    if how == "flip":
        data[at] = rnd.randrange(256)
    elif how == "insert":
        data[at:at] = bytes([rnd.randrange(256)])
    elif how == "delete":
        del data[at]
    elif how == "swapdigit":
        j = data.find(b'"', at)
        if j > 0 and j + 2 < len(data) and chr(data[j + 1]).isdigit():
            k = data.find(b'"', j + 1)
            data[j : k + 1] = data[j + 1 : k]
    elif how == "quote":
        j = data.find(b'"seq":', at)
        if j >= 0:
            k = data.find(b"}", j)
            data[j:k] = b'"seq":"' + data[j + 6 : k] + b'"'
    elif how == "dupkey":
        j = data.find(b'{"', at)
        if j >= 0:
            data[j + 1 : j + 1] = b'"kind":"x",'
    data = bytes(data)
    tmp.write_bytes(data)
    try:
        r = audit.check(tmp)
    except Exception as e:
        crashes += 1
        print("CRASH", how, at, repr(e))
        continue
    if data == original:
        continue
    if r.problem is None:
        undetected += 1
        print("UNDETECTED", how, at)
    else:
        counts[r.problem.code] = counts.get(r.problem.code, 0) + 1
print(
    f"{n} mutations of {src.name} ({len(original)} bytes) in {time.monotonic() - t:.0f}s: {sum(counts.values())} detected {dict(sorted(counts.items()))}, {undetected} undetected, {crashes} crashes"
)
