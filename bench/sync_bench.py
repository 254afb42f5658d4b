#!/usr/bin/env python3
"""Sync benchmark (issue 3): the Graph simulator in its own process serves a
generated corpus of 1,000 posts; changedesk syncs 200 tenants (each seeing
about 85 % of the corpus) into an on-disk SQLite archive with the default
(production) settings, then 400 tenants, then the same into PostgreSQL. Each
is compared with a download-and-parse-only pass (`sync --dry-run`) over the
same pages in the same run.

Usage: python3 bench/sync_bench.py [--posts 1000] [--repeat 3] [--pg postgres://postgres@127.0.0.1:5432/test]
Prints a Markdown table; `--write bench/RESULTS.md` replaces the sync section there.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# another build to compare with (then nothing is built)
BIN = os.environ.get("CHANGEDESK_BENCH_BIN") or os.path.join(ROOT, "target", "release", "changedesk")


def cpu_seconds(pids=None, comm=None):
    """CPU time (user + system) used so far by the processes `pids`, or by
    every process named `comm` (with its reaped children's), from /proc."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or (pids is not None and int(d) not in pids):
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if comm is not None and name != comm:
            continue
        # utime, stime; for every `comm` process also cutime, cstime (a
        # PostgreSQL backend that exits is counted in its postmaster's)
        total += sum(int(x) for x in fields[11:13 if comm is None else 15])
    return total / os.sysconf("SC_CLK_TCK")


def run_child(args, env, sim_pid=None):
    """Runs a changedesk command; returns (seconds, its own peak RSS in MiB,
    stdout, CPU seconds of changedesk, the simulator and PostgreSQL's server
    processes while it ran)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        sim0, pg0 = cpu_seconds(pids={sim_pid}), cpu_seconds(comm="postgres")
        start = time.monotonic()
        p = subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.monotonic() - start
        cpu = (usage.ru_utime + usage.ru_stime, cpu_seconds(pids={sim_pid}) - sim0, cpu_seconds(comm="postgres") - pg0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            sys.exit(f"command failed ({p.returncode}): {' '.join(args)}\n{err.read()[-3000:]}")
        return elapsed, usage.ru_maxrss / 1024.0, out.read(), cpu


def tenant_blocks(config_text):
    head, *blocks = re.split(r"\n(?=\[\[tenants\]\])", config_text)
    return head, blocks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--tenants", type=int, nargs="+", default=[200, 400])
    ap.add_argument("--pg", default=os.environ.get("CHANGEDESK_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--port", type=int, default=18931)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the table gives medians)")
    ap.add_argument("--write", help="update this RESULTS.md")
    args = ap.parse_args()

    if not os.environ.get("CHANGEDESK_BENCH_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "changedesk"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="changedesk-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEDESK_")}
    env["CHANGEDESK_LOG"] = "error"
    max_tenants = max(args.tenants)
    sim = subprocess.Popen(
        [BIN, "sim", "--listen", f"127.0.0.1:{args.port}", "--generate", str(args.posts), "--tenants", str(max_tenants),
         "--seed", "7", "--write-config", os.path.join(work, "all.toml")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/_sim/tenants", timeout=1).read()
                if os.path.exists(os.path.join(work, "all.toml")):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        head, blocks = tenant_blocks(open(os.path.join(work, "all.toml")).read())
        pg_dbs = []
        for backend in args.backends:
            for n in args.tenants:
                cfg = os.path.join(work, f"t{n}.toml")
                with open(cfg, "w") as f:
                    f.write(head + "\n" + "\n".join(blocks[:n]) + "\n")
                runs = []
                for rep in range(args.repeat):
                    if backend == "sqlite":
                        db = f"sqlite://{os.path.join(work, f'bench-{n}-{rep}.db')}"
                    else:
                        name = f"changedesk_bench_{n}_{rep}_{os.getpid()}"
                        subprocess.run(["psql", args.pg, "-q", "-c", f"DROP DATABASE IF EXISTS {name}", "-c", f"CREATE DATABASE {name}"], check=True, env=env)
                        pg_dbs.append(name)
                        db = re.sub(r"/[^/]*$", f"/{name}", args.pg)
                    base = [BIN, "--config", cfg, "--database", db, "sync", "--quiet", "--format", "json"]
                    dry_s, _, dry_out, dry_cpu = run_child(base + ["--dry-run"], env, sim.pid)
                    sync_s, rss, out, sync_cpu = run_child(base, env, sim.pid)
                    outcomes = json.loads(out)
                    failed = [o["tenant"] for o in outcomes if o.get("error")]
                    if failed:
                        sys.exit(f"{len(failed)} tenants failed: {failed[:5]}")
                    posts = sum(o["messages"]["fetched"] for o in outcomes)
                    mb = sum(o["bytes"] for o in outcomes) / 1e6
                    dry_posts = sum(o["messages"]["fetched"] for o in json.loads(dry_out))
                    runs.append(dict(posts=posts, mb=mb, sync_s=sync_s, dry_s=dry_s, dry_posts=dry_posts, rss=rss,
                                     sync_cpu=sync_cpu, dry_cpu=dry_cpu))
                    print(f"{backend} {n} tenants, run {rep + 1}: {posts} post-instances in {sync_s:.1f}s "
                          f"({posts / sync_s:,.0f}/s, {mb / sync_s:.1f} MB/s); dry run {dry_s:.1f}s; RSS {rss:.0f} MiB; "
                          f"CPU s (changedesk/sim/postgres) sync {'/'.join(f'{c:.1f}' for c in sync_cpu)}, "
                          f"dry run {'/'.join(f'{c:.1f}' for c in dry_cpu)}", file=sys.stderr)
                # medians: one run on this machine varies by 10-20 %
                sync_s = statistics.median(r["sync_s"] for r in runs)
                dry_s = statistics.median(r["dry_s"] for r in runs)
                posts, mb, dry_posts = runs[0]["posts"], runs[0]["mb"], runs[0]["dry_posts"]
                med = lambda key, i: statistics.median(r[key][i] for r in runs)
                rows.append(dict(backend=backend, tenants=n, posts=posts, mb=mb, sync_s=sync_s, dry_s=dry_s,
                                 sync_range=(min(r["sync_s"] for r in runs), max(r["sync_s"] for r in runs)),
                                 rate=posts / sync_s, mbps=mb / sync_s, dry_rate=dry_posts / dry_s,
                                 ratio=(posts / sync_s) / (dry_posts / dry_s), rss=max(r["rss"] for r in runs),
                                 sync_cpu=[med("sync_cpu", i) for i in range(3)], dry_cpu=[med("dry_cpu", i) for i in range(3)]))
        for name in pg_dbs:
            subprocess.run(["psql", args.pg, "-q", "-c", f"DROP DATABASE IF EXISTS {name}"], env=env)
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)

    lines = ["| archive | tenants | post-instances | MB | sync | sync, each run | post-instances/s | MB/s | download+parse only | ratio to it | peak RSS | CPU s, sync: changedesk / simulator / PostgreSQL | CPU s, download+parse |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["sync_range"]
        lines.append(f"| {r['backend']} | {r['tenants']} | {r['posts']:,} | {r['mb']:.0f} | {r['sync_s']:.1f} s | {lo:.1f}–{hi:.1f} s | {r['rate']:,.0f} | {r['mbps']:.1f} | "
                     f"{r['dry_s']:.1f} s ({r['dry_rate']:,.0f}/s) | {r['ratio']:.2f} | {r['rss']:.0f} MiB | "
                     f"{' / '.join(f'{c:.1f}' for c in r['sync_cpu'])} | {' / '.join(f'{c:.1f}' for c in r['dry_cpu'])} |")
    for backend in ["sqlite", "postgres"]:
        by_n = {r["tenants"]: r for r in rows if r["backend"] == backend}
        if 200 in by_n and 400 in by_n:
            lines.append(f"\n{backend}: 400 tenants took {by_n[400]['sync_s'] / by_n[200]['sync_s']:.2f}× the time of 200.")
    table = "\n".join(lines)
    print(table)
    if args.write:
        section = ("<!-- sync-bench -->\n## Sync (issue 3)\n\n"
                   f"Command: `python3 bench/sync_bench.py --write bench/RESULTS.md` ({args.posts} generated posts, "
                   "simulator in its own process on loopback, release build, default settings: 8 tenants at a time, "
                   f"pages of 1000; each measurement run {args.repeat} times into a fresh archive, the table gives the medians "
                   "and the peak RSS of all runs).\n\n" + table + "\n<!-- /sync-bench -->")
        text = open(args.write).read() if os.path.exists(args.write) else "# Benchmark results\n"
        if "<!-- sync-bench -->" in text:
            text = re.sub(r"<!-- sync-bench -->.*<!-- /sync-bench -->", lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        open(args.write, "w").write(text)


if __name__ == "__main__":
    main()
