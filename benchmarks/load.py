"""Load benchmark of `stratdsl serve`: `python benchmarks/load.py [--workers 2] [--requests 1500] [--json OUT]`
[--max-evaluations N] [--queue-wait SECONDS] (passed to `serve`; its defaults otherwise).

Starts `stratdsl serve policies/strategy.strat --workers N` (uvicorn worker
processes) on 127.0.0.1 at a random free port — never another interface —,
waits until it answers, then, for 1, 8 and 32 concurrent clients, sends a
bounded number of requests to POST /api/v1/evaluate and POST /api/v1/explain
(the cabinet-comptable example, the whole methodology) over keep-alive HTTP/1.1
connections, one thread per client. It reports requests/s and the median, 90th
and 99th percentile latencies, and the peak RSS of the server processes
(VmHWM). Every response must be 200 with the expected decisions. The client
runs on the same machine as the server: its own CPU is part of the figures.
Nothing is asserted on time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
POLICY = REPO / "policies" / "strategy.strat"
EXAMPLE = REPO / "examples" / "cabinet-comptable.yaml"
AS_OF = "2026-11-26"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def payloads() -> dict[str, bytes]:
    import yaml

    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assessment = json.loads(json.dumps(data, default=str))
    first = assessment["usecases"][0]["id"]
    return {
        "/api/v1/evaluate": json.dumps({"assessment": assessment, "as_of": AS_OF}).encode(),
        "/api/v1/evaluate outcomes_only": json.dumps({"assessment": assessment, "as_of": AS_OF, "outcomes_only": True}).encode(),
        "/api/v1/explain": json.dumps({"assessment": assessment, "as_of": AS_OF, "decision": "risk", "entity": first}).encode(),
    }


def rss_peak_kb(pid: int) -> int:
    """VmHWM of a process and its children (the uvicorn workers)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def per_process_rss(pid: int) -> list[int]:
    out = []
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    for p in [pid, *children]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]))
        except OSError:
            pass
    return out


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        children = []
    for p in [pid, *children]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def run_level(port: int, path: str, body: bytes, clients: int, total: int, check: Any) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))
    counter_lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        try:
            while True:
                with counter_lock:
                    if next(counter, None) is None:
                        break
                t0 = time.perf_counter()
                conn.request("POST", path.split()[0], body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                mine.append(time.perf_counter() - t0)
                if response.status != 200 or not check(data):
                    with lock:
                        errors.append(f"{response.status}: {data[:200]!r}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3

    return {
        "path": path,
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": wall,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2: one per core)")
    parser.add_argument("--requests", type=int, default=1500, help="requests per level for /evaluate (explain: a third)")
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients, comma-separated")
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--max-evaluations", type=int, help="serve --max-evaluations (evaluations at once per worker)")
    parser.add_argument("--queue-wait", type=float, help="serve --queue-wait (seconds a request waits for a slot before 503)")
    args = parser.parse_args()
    port = free_port()
    exe = shutil.which("stratdsl")
    command = [exe] if exe else [sys.executable, "-m", "stratdsl"]
    command += ["serve", str(POLICY), "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    if args.max_evaluations is not None:
        command += ["--max-evaluations", str(args.max_evaluations)]
    if args.queue_wait is not None:
        command += ["--queue-wait", str(args.queue_wait)]
    one, five, _ = os.getloadavg()
    print(f"load benchmark: {' '.join(command[1:])} — load average {one:.2f}, {five:.2f} on {os.cpu_count()} cores", flush=True)
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results: dict[str, Any] = {"workers": args.workers, "levels": [], "load_start": os.getloadavg()}
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/api/v1/policy")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}")
            time.sleep(0.2)
        results["rss_idle_kb"] = per_process_rss(server.pid)
        bodies = payloads()
        checks = {
            "/api/v1/evaluate": lambda data: b'"decisions"' in data,
            "/api/v1/evaluate outcomes_only": lambda data: b'"outcome":"' in data,
            "/api/v1/explain": lambda data: b'"explanations"' in data,
        }
        for path, body in bodies.items():  # warm every worker
            run_level(port, path, body, args.workers * 2, args.workers * 10, checks[path])
        print(f"{'route':18} {'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>6} {'srv CPU ms/req':>15} {'idle est. req/s':>16}", flush=True)
        for clients in (int(c) for c in args.levels.split(",")):
            for path, body in bodies.items():
                total = max(50, args.requests // 3) if path.endswith("explain") else args.requests
                cpu0 = server_cpu_s(server.pid)
                row = run_level(port, path, body, clients, total, checks[path])
                row["server_cpu_ms_per_request"] = (server_cpu_s(server.pid) - cpu0) / max(1, row["requests"]) * 1e3
                # what the server's CPU per request allows on idle cores (the client's CPU excluded)
                row["idle_cores_estimate_rps"] = (os.cpu_count() or 1) * 1e3 / row["server_cpu_ms_per_request"] if row["server_cpu_ms_per_request"] else None
                results["levels"].append(row)
                print(
                    f"{path.rsplit('/', 1)[1]:18.18} {clients:>7} {row['requests']:>8} {row['requests_per_s']:>8.1f} "
                    f"{row['p50_ms']:>8.1f} {row['p90_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>6} "
                    f"{row['server_cpu_ms_per_request']:>15.2f} {row['idle_cores_estimate_rps'] or 0:>16.0f}",
                    flush=True,
                )
                if row["first_error"]:
                    print(f"  first error: {row['first_error']}", flush=True)
        results["rss_peak_kb"] = per_process_rss(server.pid)
        print(f"peak RSS (VmHWM) per server process, KB: {results['rss_peak_kb']} (idle: {results['rss_idle_kb']})", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    results["load_end"] = os.getloadavg()
    one, five, _ = results["load_end"]
    print(f"done — load average {one:.2f}, {five:.2f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
