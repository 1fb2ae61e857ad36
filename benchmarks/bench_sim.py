"""Benchmark the sim: world generation, and followers pages served to a keep-alive client.

Run by hand:  python benchmarks/bench_sim.py [--accounts 100000] [--seconds 5]

1. Generates a world (default 100k accounts, about 2M follows) and writes it to a
   temporary directory; prints the time of each.
2. Serves it with SimServer and reads followers pages of 1,000 users from the biggest
   lists over ONE keep-alive connection (http.client), first with the default user fields
   (id, name, username), then with the fields a crawler asks for.
3. Serves the very same reply bytes, pre-serialised, from a minimal server on the same
   stdlib stack (ThreadingHTTPServer, HTTP/1.1, one write per reply), and reads them the
   same way.  That is the baseline.  The client runs in its own process; sim and baseline
   bursts alternate, so each sim burst has a baseline burst next to it in time, under
   the same load from the rest of the machine.

The last lines give the ratio of the sim's pages/s to the baseline's: the median over
the back-to-back pairs of this run (the best burst of each is printed too).  They also
give the ratio of CPU spent per page (server and client processes together, medians over
the bursts): on a busy machine the wall-clock ratio swings with what else runs, while
the CPU a page costs does not, and on an idle machine the two ratios meet.
Goals: at least 500 pages/s, and at least 0.5x the baseline.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

from botsweep.sim.generate import generate_world
from botsweep.sim.server import SimServer
from botsweep.sim.world import save_world

CRAWLER_FIELDS = "created_at,description,entities,location,profile_image_url,protected," \
                 "public_metrics,url,verified"
TOKEN = "bench-token"


class _Minimal(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    replies: dict[str, bytes] = {}

    def setup(self) -> None:
        super().setup()
        import socket

        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        body = self.replies[self.path]
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.wfile.write(head + body)

    def log_message(self, *args: object) -> None:
        pass


def _paths(server: SimServer, fields: str | None, want: int) -> list[str]:
    """Paths of followers pages (1,000 each) of the biggest lists, walking next_token."""
    import json

    world = server.world
    big = sorted(world.accounts, key=lambda i: -world.accounts[i]["public_metrics"][
        "followers_count"])
    conn = http.client.HTTPConnection(server.base_url.removeprefix("http://"))
    paths: list[str] = []
    for account in big:
        token = None
        while len(paths) < want:
            params = {"max_results": 1000}
            if fields:
                params["user.fields"] = fields
            if token:
                params["pagination_token"] = token
            path = f"/2/users/{account}/followers?{urlencode(params)}"
            conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
            body = json.loads(conn.getresponse().read())
            if body["meta"]["result_count"] == 1000:
                paths.append(path)
            token = body["meta"].get("next_token")
            if token is None:
                break
        if len(paths) >= want:
            break
    conn.close()
    return paths


def _read_here(host: str, paths: list[str], seconds: float) -> tuple[int, float, int, float]:
    """Fetch ``paths`` round-robin over one keep-alive connection for ``seconds``.

    Always at least one full pass, so ``seconds=0`` times a single pass.  Returns pages,
    wall seconds, bytes, and the CPU seconds this client process spent.
    """
    cpu = time.process_time()
    conn = http.client.HTTPConnection(host)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    pages = size = 0
    started = time.perf_counter()
    while pages == 0 or time.perf_counter() - started < seconds:
        for path in paths:
            conn.request("GET", path, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            assert reply.status == 200, reply.status
            pages += 1
            size += len(data)
    took = time.perf_counter() - started
    conn.close()
    return pages, took, size, time.process_time() - cpu


def _fetch(host: str, paths: list[str]) -> dict[str, bytes]:
    """The sim's reply bytes for each path (what the minimal server will send)."""
    conn = http.client.HTTPConnection(host)
    replies = {}
    for path in paths:
        conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
        replies[path] = conn.getresponse().read()
    conn.close()
    return replies


class _Baseline:
    """The minimal server: the same reply bytes, pre-serialised, on the same stdlib stack."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        handler = type("_Replies", (_Minimal,), {"replies": replies})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=1.0, help="per burst")
    parser.add_argument("--rounds", type=int, default=9, help="alternating bursts of each")
    parser.add_argument("--pages", type=int, default=40, help="distinct pages to cycle")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    started = time.perf_counter()
    world = generate_world(accounts=args.accounts, bot_networks=3, rng_seed=1)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        save_world(world, Path(tmp) / "w")
        written = time.perf_counter() - started
    rows.append((f"generate {args.accounts} accounts, {world.n_follows} follows",
                 f"{generated:.1f} s", "", ""))
    rows.append(("write world directory", f"{written:.1f} s", "",
                 f"total {generated + written:.1f} s (goal < 60 s)"))

    results: dict[str, tuple[float, float, float, float]] = {}
    server = SimServer(world, tokens=(TOKEN,), rate_limits={"*": 10**9})
    host = server.start().removeprefix("http://")
    # The client runs in its own process (no shared GIL).  Sim and baseline bursts
    # alternate; the ratio of each back-to-back pair is taken under the same load.
    pool = multiprocessing.get_context("spawn").Pool(1)
    try:
        for label, fields in (("default fields", None), ("crawler fields", CRAWLER_FIELDS)):
            paths = _paths(server, fields, args.pages)
            cold_pages, cold_s, _, _ = pool.apply(_read_here, (host, paths, 0.0))
            baseline = _Baseline(_fetch(host, paths))
            sim_runs, base_runs, ratios = [], [], []
            cpu: dict[str, list[float]] = {"sim": [], "base": []}  # server + client CPU/page
            for _ in range(args.rounds):  # pairs close in time meet the same machine load
                for key, runs, target in (("sim", sim_runs, host), ("base", base_runs,
                                                                     baseline.host)):
                    # The servers run in this process and it does nothing else meanwhile.
                    server_cpu = time.process_time()
                    runs.append(pool.apply(_read_here, (target, paths, args.seconds)))
                    server_cpu = time.process_time() - server_cpu
                    cpu[key].append((server_cpu + runs[-1][3]) / runs[-1][0])
                ratios.append((sim_runs[-1][0] / sim_runs[-1][1])
                              / (base_runs[-1][0] / base_runs[-1][1]))
            baseline.close()
            pages, took, size, _ = max(sim_runs, key=lambda r: r[0] / r[1])
            b_pages, b_took, b_size, _ = max(base_runs, key=lambda r: r[0] / r[1])
            sim_rate, base_rate = pages / took, b_pages / b_took
            sim_cpu, base_cpu = statistics.median(cpu["sim"]), statistics.median(cpu["base"])
            results[label] = (sim_rate, base_rate, statistics.median(ratios),
                              base_cpu / sim_cpu)
            rows.append((f"sim, 1,000-user pages, {label}", f"{pages} pages / {took:.1f} s",
                         f"{sim_rate:,.0f} pages/s", f"{size / took / 1e6:,.0f} MB/s; "
                         f"first pass {cold_pages / cold_s:,.0f} pages/s"))
            rows.append((f"minimal server, same bytes ({label})",
                         f"{b_pages} pages / {b_took:.1f} s", f"{base_rate:,.0f} pages/s",
                         f"{b_size / b_took / 1e6:,.0f} MB/s; pair ratios "
                         + " ".join(f"{r:.2f}" for r in ratios)))
            rows.append((f"CPU per page, server + client ({label})", "",
                         f"{sim_cpu * 1e6:,.0f} us sim", f"{base_cpu * 1e6:,.0f} us minimal"))
    finally:
        pool.close()
        server.stop()

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(width)}  {'time':<22} {'rate':<16} notes")
    for name, took_s, rate, notes in rows:
        print(f"{name.ljust(width)}  {took_s:<22} {rate:<16} {notes}")
    for label, (sim_rate, base_rate, ratio, cpu_ratio) in results.items():
        verdict = "met" if ratio >= 0.5 and sim_rate >= 500 else "NOT met"
        print(f"ratio sim/minimal (followers pages of 1,000, {label}): {ratio:.2f}x, the median "
              f"of {args.rounds} back-to-back pairs (best bursts {sim_rate:,.0f} vs "
              f"{base_rate:,.0f} pages/s; goals >= 0.50x and >= 500 pages/s: {verdict}); "
              f"by CPU per page {cpu_ratio:.2f}x (what an idle machine would give)")

if __name__ == "__main__":
    main()
