#!/usr/bin/env python3
"""API load benchmark (issue 5): an archive of 100,000 generated posts across
1,000 tenants (each post seen by about 10 of them: coverage 0.01, about a
million tenant links), filled by `changedesk bench-seed` (the simulator's
generator, stored through the same per-tenant write a sync makes), served by
`changedesk serve` on loopback with no tenants configured (no sync jobs),
and loaded with `wrk` at 200 connections: the inbox (the post list: default
sort and common filters, first pages and cursor pages) and search (real
words of the corpus), each with an unrestricted API token and with a token
limited to 10 tenants. The facets endpoint, which is not a list, is measured
apart at 10 connections. SQLite (an on-disk file) and PostgreSQL (a fresh
database on postgres://postgres@127.0.0.1:5432).

A seeded archive is kept under target/load-bench/ and reused when its
parameters match (`--reseed` fills it again).

Usage: python3 bench/load_bench.py [--posts 100000 --tenants 1000] [--backends sqlite postgres]
       python3 bench/load_bench.py --posts 10000 --tenants 100 --duration 10   (quick iteration)
Prints a Markdown table; `--write bench/RESULTS.md` replaces the load section there.
Needs wrk (`apt-get install -y wrk`) and psql for PostgreSQL.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BENCH_BIN compares another build (a copy of an earlier one) on the same archive
BIN = os.environ.get("BENCH_BIN") or os.path.join(ROOT, "target", "release", "changedesk")
LUA = os.path.join(ROOT, "bench", "load_paths.lua")
PASSWORD = "load-bench-password-not-secret"
SCOPED_TENANTS = 10
GOAL_P99_MS = 50.0

STOPWORDS = set("""about after again also been before being below between both could does doing down during each
from further have having here into itself just more most once only other over same should some such than that their
theirs them then there these they this those through under until very what when where which while will with would
your yours able make made like well available change changes update updated users user""".split())


def child_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEDESK_")}
    # BENCH_LOG=info shows what the server's background work does
    env["CHANGEDESK_LOG"] = os.environ.get("BENCH_LOG", "warn")
    return env


def cli(db, *args, env_extra=None, check=True):
    env = child_env()
    env.update(env_extra or {})
    p = subprocess.run([BIN, "--database", db, *args], env=env, capture_output=True, text=True, cwd="/")
    if check and p.returncode != 0:
        sys.exit(f"changedesk {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def pg_url(base, name):
    return re.sub(r"/[^/]*$", f"/{name}", base)


def psql(url, sql, check=True):
    p = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-tAq", "-c", sql], capture_output=True, text=True,
                       env=child_env())
    if check and p.returncode != 0:
        sys.exit(f"psql failed: {sql}\n{p.stderr}")
    return p


def archive_posts(backend, db, path):
    """How many posts the archive holds, or None when it is not there."""
    try:
        if backend == "sqlite":
            if not os.path.exists(path):
                return None
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return con.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
            finally:
                con.close()
        p = psql(db, "SELECT COUNT(*) FROM posts", check=False)
        return int(p.stdout.strip()) if p.returncode == 0 else None
    except (sqlite3.Error, ValueError):
        return None


def seeded_archive(args, backend):
    """The archive's URL and its seeding report, seeding it when needed."""
    key = f"p{args.posts}-t{args.tenants}-c{args.coverage:g}-s{args.seed}" + ("-triage" if args.triage else "")
    os.makedirs(args.data_dir, exist_ok=True)
    stamp = os.path.join(args.data_dir, f"{backend}-{key}.json")
    path = None
    if backend == "sqlite":
        path = os.path.join(args.data_dir, f"{key}.db")
        db = f"sqlite://{path}"
        pg_name = None
    else:
        pg_name = "changedesk_load_" + re.sub(r"[^a-z0-9]+", "_", key.lower())
        db = pg_url(args.pg, pg_name)
    report = None
    if not args.reseed and os.path.exists(stamp):
        report = json.load(open(stamp))
        if archive_posts(backend, db, path) != report["posts"]:
            report = None
    if report is not None:
        report["reused"] = True
        print(f"{backend}: reusing the seeded archive {db}", file=sys.stderr)
        return db, report
    if os.path.exists(stamp):
        os.remove(stamp)
    if backend == "sqlite":
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
    else:
        psql(args.pg, f"DROP DATABASE IF EXISTS {pg_name}")
        psql(args.pg, f"CREATE DATABASE {pg_name}")
    print(f"{backend}: seeding {args.posts} posts × {args.tenants} tenants (coverage {args.coverage:g}) into {db}",
          file=sys.stderr)
    seed_args = ["bench-seed", "--posts", str(args.posts), "--tenants", str(args.tenants),
                 "--coverage", str(args.coverage), "--seed", str(args.seed)]
    if args.triage:
        seed_args.append("--triage")
    start = time.monotonic()
    env = child_env()
    p = subprocess.run([BIN, "--database", db, *seed_args], env=env, stdout=subprocess.PIPE, text=True, cwd="/")
    if p.returncode != 0:
        sys.exit(f"bench-seed failed ({p.returncode})")
    if backend == "postgres":
        # what autovacuum does after a bulk load (the test server may run
        # without it): statistics for the planner, the visibility map for
        # index-only scans
        psql(db, "VACUUM ANALYZE")
    report = json.loads(p.stdout)
    report["wall_seconds"] = time.monotonic() - start
    # the archive's users and tokens are the benchmark's own
    cli(db, "user", "add", "bench", "--admin", env_extra={"CHANGEDESK_PASSWORD": PASSWORD})
    json.dump(report, open(stamp, "w"), indent=1)
    report["reused"] = False
    return db, report


def new_token(db, tenants=None):
    args = ["user", "token", "bench", "--label", "load-bench"]
    if tenants:
        args += ["--role", "reader", "--tenant", ",".join(tenants)]
    return cli(db, *args).stdout.strip()


class Server:
    def __init__(self, db, port, log_dir, extra=()):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(log_dir, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [BIN, "--database", db, "serve", "--listen", f"127.0.0.1:{port}", "--sync-every", "365d", *extra],
            env=child_env(), stdout=self.log, stderr=self.log, cwd="/")
        deadline = time.monotonic() + 600  # a new migration may build indexes first
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"changedesk serve stopped ({self.proc.returncode}); see {log_dir}/serve.log")
            try:
                if urllib.request.urlopen(f"{self.base}/readyz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit("changedesk serve was not ready in 600 s")

    def get(self, path, token):
        req = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {token}"})
        start = time.monotonic()
        with urllib.request.urlopen(req, timeout=120) as r:
            body = r.read()
        return json.loads(body) if body.startswith(b"{") else body, time.monotonic() - start

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def q(path, **params):
    params = {k: v for k, v in params.items() if v is not None and v != ""}
    return path + ("?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote) if params else "")


def pages(server, token, params, n_pages):
    """The path of the first page of a query and of the `n_pages - 1` after it."""
    out = []
    cursor = None
    for _ in range(n_pages):
        path = q("/api/v1/posts", cursor=cursor, **params)
        out.append(path)
        page, _ = server.get(path, token)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return out


def inbox_paths(server, token, tenants, sample, total=False):
    """The inbox: the post list, newest first, with the filters people use;
    with `total`, every page asks for the count of all matches (counted for
    the first page, carried by the cursor after it)."""
    services = collections.Counter(s for p in sample for s in p["services"]).most_common(4)
    tags = collections.Counter(t for p in sample for t in p["tags"]).most_common(3)
    filters = [{}, {}, {"state": "active"}, {"state": "active"}, {"state": "active", "major": "true"},
               {"category": "planForChange", "state": "active"}, {"severity": "high"}, {"sort": "act_by", "state": "active"}]
    filters += [{"service": s, "state": "active"} for s, _ in services]
    filters += [{"tag": t} for t, _ in tags]
    filters += [{"tenant": t} for t in tenants[:3]]
    filters += [{"tenant": tenants[3], "state": "active"}]
    out = []
    for f in filters:
        if total:
            f = dict(f, include_total="true")
        first, *more = pages(server, token, dict(f, limit=50), 3)
        # first pages are what people open most
        out += [first, first] + more
    return out


def search_words(sample):
    words = collections.Counter()
    for p in sample:
        for w in re.findall(r"[A-Za-z]{5,}", p["title"]):
            if w.lower() not in STOPWORDS:
                words[w.lower()] += 1
    common = [w for w, _ in words.most_common(30)]
    return common[:24]


def search_paths(server, token, words):
    out = []
    for i, w in enumerate(words):
        params = {"q": w, "limit": 50}
        if i % 3 == 1:
            params["sort"] = "relevance"
        if i % 4 == 2:
            params["state"] = "active"
        out += pages(server, token, params, 2 if i % 2 == 0 else 1)
    for a, b in zip(words[::3], words[1::3]):
        out.append(q("/api/v1/posts", q=f"{a} {b}", limit=50))
    return out


def facets_paths(sample, words, tenants):
    services = collections.Counter(s for p in sample for s in p["services"]).most_common(2)
    return [q("/api/v1/posts/facets"), q("/api/v1/posts/facets", state="active"),
            q("/api/v1/posts/facets", service=services[0][0]), q("/api/v1/posts/facets", q=words[0]),
            q("/api/v1/posts/facets", tenant=tenants[0])]


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(server, token, paths_file, connections, duration, threads):
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "60s",
           "-H", f"Authorization: Bearer {token}", "-s", LUA, server.base, "--", paths_file]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"wrk failed: {p.stderr}")
    out = p.stdout

    def latency(pct):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNIT[m.group(2)] if m else float("nan")

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if re.search(r"^\s*0 requests in", out, re.M):
        print(f"warning: no request completed within the run:\n{out}", file=sys.stderr)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return dict(rps=rps, p50=latency(50), p99=latency(99), requests=total, seconds=duration,
                non2xx=int(non2xx.group(1)) if non2xx else 0,
                errors=sum(int(x) for x in errors.groups()) if errors else 0, raw=out)


def prime(server, token, files):
    """Asks every path of these files once (four at a time), so a measured
    run with the answer cache on starts with every answer made, as a
    server that has been up a while has them."""
    import concurrent.futures
    paths = sorted({line.strip() for f in files for line in open(f) if line.strip()})
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: server.get(p, token), paths))


def write_paths(args, name, paths):
    f = os.path.join(args.data_dir, f"paths-{name}.txt")
    with open(f, "w") as out:
        out.write("\n".join(paths) + "\n")
    return f


def bench_backend(args, backend):
    db, seed = seeded_archive(args, backend)
    all_tenants = [f"tenant-{i + 1:03d}" for i in range(args.tenants)]
    scoped = all_tenants[:SCOPED_TENANTS]
    token_all = new_token(db)
    token_scoped = new_token(db, scoped)
    rows = []
    plans = []  # (scope, token, {workload: paths file}, facets paths file)
    metrics = []
    for cache in args.cache:
        # the answer cache on (serve's default) or off (every answer made for its request)
        server = Server(db, args.port, args.data_dir, [] if cache == "on" else ["--cache-mb", "0"])
        try:
            if not plans:
                for scope, token, tenants in [("all", token_all, all_tenants[:: max(1, args.tenants // 20)]),
                                              (f"{SCOPED_TENANTS} tenants", token_scoped, scoped)]:
                    sample = []
                    for path in pages(server, token, {"limit": 200}, 2):
                        sample += server.get(path, token)[0]["items"]
                    words = search_words(sample)
                    label = "all" if scope == "all" else "scoped"
                    files = {"inbox": write_paths(args, f"{backend}-{label}-inbox",
                                                  inbox_paths(server, token, tenants, sample)),
                             "search": write_paths(args, f"{backend}-{label}-search",
                                                   search_paths(server, token, words))}
                    if args.totals:
                        files["inbox with totals"] = write_paths(args, f"{backend}-{label}-inbox-totals",
                                                                 inbox_paths(server, token, tenants, sample,
                                                                             total=True))
                    facets = write_paths(args, f"{backend}-{label}-facets", facets_paths(sample, words, tenants))
                    plans.append((scope, token, files, facets))
            for scope, token, files, facets in plans:
                for workload, f in files.items():
                    if cache == "on":
                        prime(server, token, [f, facets])
                    if args.warmup > 0:
                        wrk(server, token, f, args.connections, args.warmup, args.threads)
                    r = wrk(server, token, f, args.connections, args.duration, args.threads)
                    r.update(backend=backend, workload=workload, scope=scope, connections=args.connections,
                             cache=cache)
                    if args.verbose:
                        print(r["raw"], file=sys.stderr)
                        m = urllib.request.urlopen(f"{server.base}/metrics", timeout=120).read().decode()
                        print("\n".join(l for l in m.splitlines() if "answer_cache" in l), file=sys.stderr)
                    rows.append(r)
                    print(f"{backend} {workload} ({scope}, cache {cache}): {r['rps']:,.0f} req/s, "
                          f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['non2xx']} non-2xx, "
                          f"{r['errors']} socket errors", file=sys.stderr)
                if args.facets_duration > 0:
                    r = wrk(server, token, facets, args.facets_connections, args.facets_duration, args.threads)
                    r.update(backend=backend, workload="facets", scope=scope, connections=args.facets_connections,
                             cache=cache)
                    rows.append(r)
                    print(f"{backend} facets ({scope}, cache {cache}): {r['rps']:,.1f} req/s, "
                          f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms", file=sys.stderr)
            if not metrics:
                for _ in range(3):
                    start = time.monotonic()
                    urllib.request.urlopen(f"{server.base}/metrics", timeout=120).read()
                    metrics.append((time.monotonic() - start) * 1000)
        finally:
            server.stop()
    return rows, seed, sorted(metrics)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--tenants", type=int, default=1000)
    ap.add_argument("--coverage", type=float, help="the fraction of posts each tenant sees (default: 10 / tenants, "
                    "so each post is seen by about 10 tenants)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-triage", dest="triage", action="store_false",
                    help="seed without running the rules (no work items)")
    ap.add_argument("--reseed", action="store_true", help="seed again even when a matching archive is kept")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    ap.add_argument("--pg", default=os.environ.get("CHANGEDESK_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test"),
                    help="a PostgreSQL URL whose server gets the benchmark's own database")
    ap.add_argument("--port", type=int, default=18941)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration", type=int, default=30, help="seconds of each measured run")
    ap.add_argument("--warmup", type=int, default=5, help="seconds of warm-up before each measured run")
    ap.add_argument("--cache", nargs="+", default=["on", "off"], choices=["on", "off"],
                    help="measure with serve's answer cache on (its default), off (--cache-mb 0), or both")
    ap.add_argument("--no-totals", dest="totals", action="store_false",
                    help="skip the inbox run whose pages ask for the total (include_total=true)")
    ap.add_argument("--facets-connections", type=int, default=10)
    ap.add_argument("--facets-duration", type=int, default=10, help="0: skip the facets run")
    ap.add_argument("--verbose", action="store_true", help="print wrk's output and the cache's counters")
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "target", "load-bench"))
    ap.add_argument("--write", help="update this RESULTS.md")
    ap.add_argument("--no-build", dest="build", action="store_false",
                    help="use target/release/changedesk as it is (default: build it first)")
    args = ap.parse_args()
    if args.coverage is None:
        args.coverage = min(1.0, 10 / args.tenants)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    os.makedirs(args.data_dir, exist_ok=True)

    if args.build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "changedesk"], cwd=ROOT, check=True)
    rows, seeds, metrics = [], {}, {}
    for backend in args.backends:
        r, seeds[backend], metrics[backend] = bench_backend(args, backend)
        rows += r

    lines = ["| archive | answer cache | workload | token | connections | requests/s | p50 | p99 | p99 < 50 ms | "
             "requests | errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if not r["requests"]:
            lines.append(f"| {r['backend']} | {r['cache']} | {r['workload']} | {r['scope']} | {r['connections']} | "
                         f"0 | – | – | **no** (none answered in {r['seconds']} s) | 0 | {r['non2xx'] + r['errors']} |")
            continue
        goal = "" if r["workload"] == "facets" else ("yes" if r["p99"] < GOAL_P99_MS else "**no**")
        rps = f"{r['rps']:,.1f}" if r["rps"] < 10 else f"{r['rps']:,.0f}"
        lines.append(f"| {r['backend']} | {r['cache']} | {r['workload']} | {r['scope']} | {r['connections']} | {rps} | "
                     f"{r['p50']:.1f} ms | {r['p99']:.1f} ms | {goal} | {r['requests']:,} | "
                     f"{r['non2xx'] + r['errors']} |")
    notes = []
    for backend, s in seeds.items():
        how = "reused from an earlier run" if s.get("reused") else "seeded in this run"
        notes.append(f"{backend}: {s['posts']:,} posts, {s['tenants']:,} tenants, {s['post_links']:,} tenant links, "
                     f"{s['work_items_created']:,} work items; seeding took {s['total_seconds']:.0f} s "
                     f"(generate {s['generate_seconds']:.0f} s, store {s['store_seconds']:.0f} s, "
                     f"rules {s['triage_seconds']:.0f} s; {how}); `GET /metrics` {metrics[backend]:.0f} ms.")
    table = "\n".join(lines) + "\n\n" + "\n\n".join(notes)
    print(table)
    failed = [r for r in rows if r["non2xx"] or r["errors"] or not r["requests"]]
    if args.write:
        command = "python3 bench/load_bench.py --write bench/RESULTS.md"
        if (args.posts, args.tenants, args.coverage) != (100_000, 1000, 10 / 1000):
            command = (f"python3 bench/load_bench.py --posts {args.posts} --tenants {args.tenants} "
                       f"--coverage {args.coverage:g} --write bench/RESULTS.md")
        section = ("<!-- load-bench -->\n## API load (issue 5)\n\n"
                   f"Command: `{command}` ({args.posts:,} generated posts, {args.tenants:,} tenants, coverage "
                   f"{args.coverage:g}: each post seen by about {args.coverage * args.tenants:g} tenants; release "
                   f"build; `wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency` on loopback "
                   f"after a {args.warmup} s warm-up (with the cache on, every path asked once first), against `changedesk serve` with no sync jobs, its answer "
                   "cache on (the default: 64 MiB; another process's writes seen within 250 ms, answers at most 30 s old) and off (`--cache-mb 0`); inbox: "
                   "`GET /api/v1/posts` newest first with common filters, first and cursor pages; search: "
                   "`GET /api/v1/posts?q=` with words of the corpus' titles; inbox with totals: the same inbox "
                   "pages with `include_total=true` (the first page counts every match, its cursors carry the "
                   "count); token: unrestricted, or limited to "
                   f"{SCOPED_TENANTS} tenants; facets: `GET /api/v1/posts/facets` at "
                   f"{args.facets_connections} connections for {args.facets_duration} s).\n\n"
                   + table + "\n<!-- /load-bench -->")
        text = open(args.write).read() if os.path.exists(args.write) else "# Benchmark results\n"
        if "<!-- load-bench -->" in text:
            text = re.sub(r"<!-- load-bench -->.*<!-- /load-bench -->", lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        open(args.write, "w").write(text)
    if failed:
        sys.exit(f"{len(failed)} runs had failed requests: see the errors column")


if __name__ == "__main__":
    main()
