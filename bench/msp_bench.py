#!/usr/bin/env python3
"""MSP benchmark (issue 18): the shape an MSP has — thousands of tenants, each
seeing most of a few thousand posts — not the 100k × 10 of the load benchmark.

`changedesk bench-seed` fills an archive (the simulator's generator, stored
through the per-tenant write a sync makes; the rules run; `--exceptions`
items get tenant exceptions for 10 to 500 tenants each: own states and
decisions, other owners, not applicable). Then `changedesk serve` starts with
its answer cache off (`--cache-mb 0`), and every UI page and API list is asked
"cold": the first request after the restart is reported alone, then
`--requests` sequential requests give p50 and p99 (the OS file cache is not
dropped), with the answer's size. A signed-in admin asks the UI pages; an API
token the API.

Then (`--sync-load`, on by default) the open-loop phase: the simulator
serves the same generated corpus to the same tenants, `changedesk serve`
restarts with them configured and `--sync-every` the phase's length, so its
scheduler's first round (spread over that interval) syncs every tenant while
the inbox and a search are asked at a fixed rate (`--rate`, 50/s), wrk2-style:
each request has its due time, and its latency counts from then, so a slow
answer that delays the next requests counts for them too (no coordinated
omission). How many tenants synced during the phase is reported beside. The
server runs as deployed, with its answer cache (`--cache-mb`, default 64 MiB
as `serve`'s; 0 makes every answer cold, which two cores cannot serve at
50/s).

A seeded archive is kept under target/msp-bench/ and reused when its
parameters match (`--reseed` fills it again).

Usage: python3 bench/msp_bench.py [--posts 5000 --tenants 2000 --coverage 0.85 --exceptions 100]
       [--backends sqlite postgres] [--requests 200]
Prints a Markdown table (`--json` for the raw figures).
"""

import argparse
import concurrent.futures
import html
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_bench as lb  # noqa: E402  (its server, CLI and psql helpers)

ROOT = lb.ROOT
BIN = lb.BIN
PASSWORD = "msp-bench-password-not-secret"
GOAL_KB = 100
GOAL_P99_MS = 100


def cli(db, *args, env_extra=None):
    return lb.cli(db, *args, env_extra=env_extra).stdout


def seeded(args, backend):
    key = f"p{args.posts}-t{args.tenants}-c{args.coverage:g}-x{args.exceptions}-s{args.seed}"
    os.makedirs(args.data_dir, exist_ok=True)
    stamp = os.path.join(args.data_dir, f"{backend}-{key}.json")
    if backend == "sqlite":
        path = os.path.join(args.data_dir, f"{key}.db")
        db = f"sqlite://{path}"
    else:
        name = "changedesk_msp_" + re.sub(r"[^a-z0-9]+", "_", key.lower())
        db = lb.pg_url(args.pg, name)
    if not args.reseed and os.path.exists(stamp):
        print(f"{backend}: reusing {db}", file=sys.stderr)
        report = json.load(open(stamp))
        report["reused"] = True
        return db, report
    if backend == "sqlite":
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    else:
        lb.psql(args.pg, f"DROP DATABASE IF EXISTS {name}")
        lb.psql(args.pg, f"CREATE DATABASE {name}")
    print(f"{backend}: seeding {args.posts} posts × {args.tenants} tenants (coverage {args.coverage:g}, "
          f"{args.exceptions} items with exceptions) into {db}", file=sys.stderr)
    start = time.monotonic()
    out = cli(db, "bench-seed", "--posts", str(args.posts), "--tenants", str(args.tenants), "--coverage",
              str(args.coverage), "--seed", str(args.seed), "--triage", "--exceptions", str(args.exceptions))
    if backend == "postgres":
        lb.psql(db, "VACUUM ANALYZE")
    report = json.loads(out)
    report["wall_seconds"] = time.monotonic() - start
    cli(db, "user", "add", "bench", "--admin", env_extra={"CHANGEDESK_PASSWORD": PASSWORD})
    json.dump(report, open(stamp, "w"), indent=1)
    report["reused"] = False
    return db, report


def vacuum_if_no_autovacuum(db):
    """What autovacuum does on a PostgreSQL server that runs it (the
    default): a server with it off (as some test machines are) keeps every
    row a sync round rewrote as a dead tuple, and index-only scans of the
    tenant links turn into heap fetches (the inbox's 50 posts: 82,000 of
    them, 52 -> 208 ms). There, the archive is vacuumed before it is
    measured, and the report says so."""
    if lb.psql(db, "SHOW autovacuum").stdout.strip() == "on":
        return False
    print("postgres: autovacuum is off on this server: VACUUM (ANALYZE) before measuring", file=sys.stderr)
    lb.psql(db, "VACUUM (ANALYZE)")
    return True


class Server(lb.Server):
    """`changedesk serve` with its answer cache off, asked with any headers."""

    def __init__(self, db, port, log_dir):
        super().__init__(db, port, log_dir, extra=("--cache-mb", "0"))

    def fetch(self, path, headers):
        req = urllib.request.Request(self.base + path, headers=headers)
        start = time.monotonic()
        with urllib.request.urlopen(req, timeout=300) as r:
            body = r.read()
            status = r.status
        return status, body, time.monotonic() - start


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def sign_in(server):
    """A session cookie for the benchmark's admin, through the sign-in form."""
    with urllib.request.urlopen(server.base + "/sign-in") as r:
        page = r.read().decode()
        pre = re.search(r"changedesk_sign_in=([^;]+)", "; ".join(r.headers.get_all("Set-Cookie") or [])).group(1)
    token = html.unescape(re.search(r'name="token" value="([^"]+)"', page).group(1))
    form = urllib.parse.urlencode({"name": "bench", "password": PASSWORD, "next": "/", "token": token}).encode()
    req = urllib.request.Request(server.base + "/sign-in", data=form,
                                 headers={"Cookie": f"changedesk_sign_in={pre}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(req)
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise
        cookies = "; ".join(e.headers.get_all("Set-Cookie") or [])
        cookie = re.search(r"changedesk_session=([^;]+)", cookies).group(1)
        return f"changedesk_session={cookie}"
    sys.exit("signing in did not redirect")


def paths(server, api, tenant, group, item_with_exceptions):
    """(name, path, is_api): every UI page and API list of the issue."""
    some_post = json.loads(server.fetch("/api/v1/posts?limit=1", api)[1])["items"][0]["id"]
    word = "feature"
    out = [
        ("inbox", "/", False),
        ("inbox, tenant", f"/?tenant={tenant}", False),
        ("inbox, chip awaiting triage", "/?chip=awaiting", False),
        ("inbox, chip overdue", "/?chip=overdue", False),
        ("inbox, chip missed", "/?chip=missed", False),
        ("inbox, owner none", "/?assignee=none", False),
        ("search", f"/?q={word}", False),
        ("post page", f"/posts/{some_post}", False),
        ("post page, with exceptions", f"/posts/{item_with_exceptions}", False),
        ("board", "/board", False),
        ("items", "/items", False),
        ("items, open for a tenant", f"/items?tenant={tenant}&state=open", False),
        ("agenda", "/agenda", False),
        ("tenants", "/tenants", False),
        ("health", "/health", False),
        ("API posts", "/api/v1/posts?limit=50", True),
        ("API posts, search", f"/api/v1/posts?limit=50&q={word}", True),
        ("API facets", "/api/v1/posts/facets", True),
        ("API post", f"/api/v1/posts/{some_post}", True),
        ("API items", "/api/v1/items?limit=50", True),
        ("API items, open for a tenant", f"/api/v1/items?limit=50&state=open&tenant={tenant}", True),
        ("API item with exceptions", f"/api/v1/items/{item_with_exceptions}", True),
    ]
    if group:
        out.insert(2, ("inbox, tenant group", f"/?tenant_group={group}", False))
    return out


def measure(server, headers, path, n):
    status, body, first = server.fetch(path, headers)
    if status != 200:
        sys.exit(f"GET {path}: {status}")
    times = []
    for _ in range(n):
        times.append(server.fetch(path, headers)[2])
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * len(times))) - 1)]
    return {"bytes": len(body), "first_ms": first * 1000, "p50_ms": statistics.median(times) * 1000,
            "p99_ms": p99 * 1000}


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values))) - 1))]


def synced_since(backend, db, since):
    """How many tenants finished a sync at or after `since` (canonical text)."""
    query = f"SELECT COUNT(*) FROM tenants WHERE last_sync_at >= '{since}'"
    if backend == "sqlite":
        con = sqlite3.connect(f"file:{db[len('sqlite://'):]}?mode=ro", uri=True)
        try:
            return con.execute(query).fetchone()[0]
        finally:
            con.close()
    return int(lb.psql(db, query).stdout.strip())


def mix(tenant, ui, api):
    """The open-loop phase's requests, asked in turn, and their headers."""
    paths = ["/", "/?q=feature", f"/?tenant={tenant}", "/?q=retirement", "/api/v1/posts?limit=50&q=feature"]
    return paths, [ui, ui, ui, ui, api]


def sync_load(args, backend, db, token, tenant):
    """The open-loop phase: inbox and search at `args.rate`/s while the
    scheduler's first round syncs every tenant from the simulator."""
    sim_port, port = args.port + 1, args.port
    cfg = os.path.join(args.data_dir, "sim-tenants.toml")
    sim_log = open(os.path.join(args.data_dir, "sim.log"), "w")
    sim = subprocess.Popen([BIN, "sim", "--listen", f"127.0.0.1:{sim_port}", "--generate", str(args.posts),
                            "--seed", str(args.seed), "--tenants", str(args.tenants), "--write-config", cfg],
                           env=lb.child_env(), stdout=sim_log, stderr=sim_log, cwd="/")
    server = None
    try:
        deadline = time.monotonic() + 300
        while not os.path.exists(cfg) or os.path.getsize(cfg) == 0:
            if sim.poll() is not None or time.monotonic() > deadline:
                sys.exit("the simulator did not start; see sim.log")
            time.sleep(0.5)
        time.sleep(1)
        start_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        log = open(os.path.join(args.data_dir, "serve-sync.log"), "w")
        proc = subprocess.Popen([BIN, "--config", cfg, "--database", db, "serve", "--listen", f"127.0.0.1:{port}",
                                 "--sync-every", f"{args.sync_seconds}s", "--cache-mb", str(args.cache_mb)],
                                env=lb.child_env(), stdout=log, stderr=log, cwd="/")
        server = (proc, log)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                sys.exit("changedesk serve stopped; see serve-sync.log")
            try:
                if urllib.request.urlopen(f"{base}/readyz", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit("changedesk serve was not ready in 600 s")
            time.sleep(0.2)
        api = {"Authorization": f"Bearer {token}"}
        ui = {"Cookie": sign_in(type("S", (), {"base": base})())}
        paths, heads = mix(tenant, ui, api)
        # one open loop over the mix, each path with its own headers
        lat, errors = open_loop(base, list(zip(paths, heads)), args.rate, args.sync_seconds)
        return {"requests": len(lat) + len(errors), "errors": errors[:5], "error_count": len(errors),
                   "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": lat[-1] if lat else float("nan"),
                   "synced": synced_since(backend, db, start_text), "tenants": args.tenants,
                   "seconds": args.sync_seconds, "rate": args.rate, "paths": paths, "cache_mb": args.cache_mb,
                   "slowest": getattr(open_loop, "slowest", []),
                   "misses": getattr(open_loop, "misses", []),
                   "p99_warm_ms": pct(getattr(open_loop, "warm", []), 99), "warmup_s": WARMUP_S}
    finally:
        if server:
            proc, log = server
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sim.kill()
        sim_log.close()


def idle_load(args, db, token, tenant):
    """The open loop of the sync phase against a server that syncs nothing
    (`--idle`): what the machine serves of the same mix without a sync
    round beside it, the ceiling of the phase's figures."""
    server = Server(db, args.port, args.data_dir)
    try:
        api = {"Authorization": f"Bearer {token}"}
        ui = {"Cookie": sign_in(server)}
        paths, heads = mix(tenant, ui, api)
        lat, errors = open_loop(server.base, list(zip(paths, heads)), args.rate, args.sync_seconds)
        return {"requests": len(lat) + len(errors), "errors": errors[:5], "error_count": len(errors),
                "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": lat[-1] if lat else float("nan"),
                "synced": 0, "tenants": args.tenants, "seconds": args.sync_seconds, "rate": args.rate,
                "paths": paths, "idle": True}
    finally:
        server.stop()


#: Seconds at the start of the open loop reported apart (`p99_warm_ms`).
WARMUP_S = 2.0


def open_loop(base, mixed, rate, seconds):
    """Asks the (path, headers) pairs of `mixed` in turn at `rate`
    requests/s for `seconds`; each latency counts from the request's due
    time (wrk2's correction for coordinated omission). Returns the sorted
    latencies in ms and the errors."""
    interval = 1.0 / rate
    n = int(rate * seconds)
    latencies, errors, timeline = [], [], []
    lock = threading.Lock()

    def one(path, headers, due):
        # a request still queued long after its due time is not sent: the
        # server is saturated, and draining the backlog would outlast the
        # phase; it counts as an error (and its latency is unbounded)
        if time.monotonic() - due > 30:
            with lock:
                errors.append(f"{path}: not sent, 30 s late (saturated)")
            return
        try:
            req = urllib.request.Request(base + path, headers=headers)
            with urllib.request.urlopen(req, timeout=30) as r:
                r.read()
                kept = r.headers.get("x-changedesk-cache", "-")
            done = time.monotonic()
            with lock:
                latencies.append((done - due) * 1000)
                timeline.append((due - start, (done - due) * 1000, path, kept, done - start))
        except Exception as e:  # noqa: BLE001 (reported, not hidden)
            with lock:
                errors.append(f"{path}: {e}")

    start = time.monotonic() + 0.05
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(n):
            due = start + i * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            path, headers = mixed[i % len(mixed)]
            pool.submit(one, path, headers, due)
    latencies.sort()
    # the slowest requests, when they were due (s into the phase): whether
    # they gather at its start (answers made cold) or anywhere else
    # (and whether the answer cache had their answer: `hit`, `miss`)
    timeline.sort(key=lambda t: -t[1])
    open_loop.slowest = [{"at_s": round(t, 2), "ms": round(ms, 1), "path": p, "cache": c}
                         for t, ms, p, c, _ in timeline[:25]]
    # the answers made afresh (misses), when they were due and how long
    # they took: what each stall of the loop waited for
    open_loop.misses = sorted((round(t, 2), round(ms, 1), p) for t, ms, p, c, _ in timeline if c == "miss")
    # and the requests due after the first WARMUP_S seconds: the answer
    # cache's first answers are made cold, all at the start
    open_loop.warm = sorted(ms for t, ms, *_ in timeline if t >= WARMUP_S)
    return latencies, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument("--tenants", type=int, default=2000)
    ap.add_argument("--coverage", type=float, default=0.85)
    ap.add_argument("--exceptions", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "target", "msp-bench"))
    ap.add_argument("--port", type=int, default=18418)
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-sync-load", dest="sync_load", action="store_false",
                    help="skip the open-loop phase during a sync round")
    ap.add_argument("--sync-load-only", action="store_true",
                    help="only the open-loop phase (the pages are not measured)")
    ap.add_argument("--rate", type=float, default=50.0, help="the open-loop phase's requests per second")
    ap.add_argument("--idle", action="store_true",
                    help="the open-loop phase without a sync round (what the machine serves of the mix alone)")
    ap.add_argument("--only", nargs="+", default=[],
                    help="measure only the pages whose name starts with one of these (e.g. agenda board)")
    ap.add_argument("--cache-mb", type=int, default=64,
                    help="the open-loop phase's answer cache (serve's --cache-mb; default 64, serve's own; 0: off, "
                         "every answer made cold — the pages above are measured so)")
    ap.add_argument("--sync-seconds", type=int, default=120,
                    help="the open-loop phase's length, over which the scheduler spreads its first round")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: cargo build --release -p changedesk")
    results = {}
    for backend in args.backends:
        db, report = seeded(args, backend)
        if backend == "postgres":
            report["vacuumed"] = vacuum_if_no_autovacuum(db)
        token = cli(db, "user", "token", "bench", "--label", "msp-bench").strip()
        server = Server(db, args.port, args.data_dir)
        try:
            api = {"Authorization": f"Bearer {token}"}
            ui = {"Cookie": sign_in(server)}
            tenants = [t["name"] for t in json.loads(server.fetch("/api/v1/tenants", api)[1])]
            groups = json.loads(server.fetch("/api/v1/tenant-groups", api)[1])
            items = json.loads(server.fetch("/api/v1/items?limit=5000", api)[1])
            with_exceptions = max(items, key=lambda i: i["exception_count"])["post_id"]
            rows = []
            for name, path, is_api in [] if args.sync_load_only else paths(server, api, tenants[len(tenants) // 2],
                                            groups[0]["name"] if groups else "", with_exceptions):
                if args.only and not any(name.startswith(o) for o in args.only):
                    continue
                m = measure(server, api if is_api else ui, path, args.requests)
                m.update(name=name, path=path)
                rows.append(m)
                print(f"{backend} {name}: {m['bytes'] / 1024:.0f} KB, first {m['first_ms']:.0f} ms, "
                      f"p99 {m['p99_ms']:.0f} ms", file=sys.stderr)
            results[backend] = {"seed": report, "rows": rows}
        finally:
            server.stop()
        if args.sync_load:
            if args.idle:
                r = idle_load(args, db, token, tenants[len(tenants) // 2])
            else:
                r = sync_load(args, backend, db, token, tenants[len(tenants) // 2])
            results[backend]["sync_load"] = r
            print(f"{backend} during a sync round: p99 {r['p99_ms']:.0f} ms "
                  f"({r.get('p99_warm_ms', float('nan')):.0f} ms after the first {WARMUP_S:g} s), {r['synced']} tenants synced, "
                  f"{r['error_count']} errors", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for backend, r in results.items():
        s = r["seed"]
        print(f"\n{backend}: {s['posts']:,} posts, {s['tenants']:,} tenants, {s['post_links']:,} tenant links, "
              f"{s.get('items_with_exceptions', 0)} items with {s.get('exceptions', 0):,} tenant exceptions; "
              f"seeding took {s['wall_seconds']:.0f} s" + (" (reused)" if s.get("reused") else "") +
              ("; vacuumed before measuring (autovacuum is off on this server)" if s.get("vacuumed") else "") + "\n")
        print("| page | size | first (cold) | p50 | p99 | goal (≤ 100 KB, p99 ≤ 100 ms) |")
        print("|---|---:|---:|---:|---:|---|")
        for m in r["rows"]:
            ok = m["bytes"] <= GOAL_KB * 1024 and m["p99_ms"] <= GOAL_P99_MS
            print(f"| {m['name']} (`{m['path']}`) | {m['bytes'] / 1024:.0f} KB | {m['first_ms']:.0f} ms | "
                  f"{m['p50_ms']:.0f} ms | {m['p99_ms']:.0f} ms | {'met' if ok else 'not met'} |")
        sl = r.get("sync_load")
        if sl:
            ok = sl["p99_ms"] <= 150 and sl["error_count"] == 0
            when = (f"Without a sync round ({sl['seconds']} s)" if sl.get("idle") else
                    f"During the scheduler's first round ({sl['seconds']} s; {sl['synced']:,} of {sl['tenants']:,} "
                    "tenants synced in it)")
            if sl.get("cache_mb"):
                when += f", answer cache {sl['cache_mb']} MiB"
            print(f"\n{when}, open loop at {sl['rate']:g} requests/s over "
                  + ", ".join(f"`{p}`" for p in sl["paths"])
                  + f": {sl['requests']:,} requests, p50 {sl['p50_ms']:.0f} ms, p99 {sl['p99_ms']:.0f} ms, "
                  f"max {sl['max_ms']:.0f} ms, {sl['error_count']} errors: goal (p99 ≤ 150 ms) "
                  + ("met" if ok else "not met"))


if __name__ == "__main__":
    main()
