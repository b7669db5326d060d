#!/usr/bin/env python3
"""Polling benchmark: N feed sources served from 127.0.0.1, polled by `tocsin run`.

Measures what the daemon costs while keeping every source on schedule:
CPU time (user+system, from /proc) over the measured window, peak resident
memory (VmHWM), and the gaps between successive polls of each source as the
server saw them.

    bench/poll_load.py [--sources 1000] [--interval 60] [--seconds 300] [--warmup 60]

Feeds come from shared/bench/gen_feeds.py (deterministic). Each feed answers
with an ETag, so unchanged feeds cost a 304; every --change-period seconds
(staggered across feeds) a feed's content changes to another generated feed,
so the daemon also parses and stores real news during the run.
"""
import argparse, hashlib, http.server, json, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT.parent / "shared" / "bench" / "gen_feeds.py"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--change-period", type=int, default=900)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "tocsin"))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tocsin-poll-bench-"))
    corpus = work / "corpus"
    subprocess.run([sys.executable, str(GEN), str(corpus), "--feeds", str(args.sources), "--items", "20"], check=True,
                   stdout=subprocess.DEVNULL)
    files = sorted(p for p in corpus.iterdir() if p.name != "manifest.json")
    bodies = [p.read_bytes() for p in files]
    kinds = ["application/feed+json" if p.suffix == ".json" else "application/xml" for p in files]
    seen = {}  # path -> [times]
    lock = threading.Lock()
    start = time.time()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            now = time.time()
            try:
                i = int(self.path.rsplit("/", 1)[1])
            except ValueError:
                self.send_error(404)
                return
            with lock:
                seen.setdefault(i, []).append(now)
            gen = int((now - start + i * args.change_period / args.sources) // args.change_period)
            etag = f'"{i}-{gen}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            j = (i + gen * 7919) % len(bodies)
            body = bodies[j]
            self.send_response(200)
            self.send_header("Content-Type", kinds[j])
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    cfg = work / "tocsin.toml"
    with cfg.open("w") as f:
        f.write(f'state_dir = "{work / "state"}"\n[defaults]\ninterval = "{args.interval}s"\n')
        for i in range(args.sources):
            f.write(f'[[sources]]\nid = "s{i:04d}"\nkind = "feed"\nurl = "http://127.0.0.1:{port}/feed/{i}"\n')

    proc = subprocess.Popen([args.binary, "run", "--config", str(cfg)], stderr=subprocess.DEVNULL,
                            env={**os.environ, "RUST_LOG": "warn"})

    def cpu_and_hwm():
        stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(stat[11]) + int(stat[12])) / ticks
        hwm = rss = 0
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        return cpu, hwm, rss

    time.sleep(args.warmup)
    cpu0, _, _ = cpu_and_hwm()
    t0 = time.time()
    time.sleep(args.seconds)
    cpu1, hwm, rss = cpu_and_hwm()
    t1 = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)
    server.shutdown()

    gaps, late = [], 0
    polled = 0
    for i in range(args.sources):
        times = [t for t in seen.get(i, []) if t0 <= t <= t1]
        polled += bool(times)
        g = [b - a for a, b in zip(times, times[1:])]
        gaps.extend(g)
        late += any(x > args.interval * 1.25 for x in g)
    gaps.sort()
    q = lambda p: gaps[min(len(gaps) - 1, int(p * len(gaps)))] if gaps else float("nan")
    result = {
        "sources": args.sources,
        "interval_s": args.interval,
        "measured_s": round(t1 - t0, 1),
        "cpu_s": round(cpu1 - cpu0, 2),
        "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 2),
        "peak_rss_mib": round(hwm / 1024, 1),
        "rss_at_end_mib": round(rss / 1024, 1),
        "requests": sum(len(v) for v in seen.values()),
        "sources_polled_in_window": polled,
        "poll_gap_s": {"p50": round(q(0.5), 1), "p99": round(q(0.99), 1), "max": round(q(1.0), 1)},
        "sources_with_a_gap_over_1.25x_interval": late,
    }
    print(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
