#!/usr/bin/env python3
"""Late posts and the membership check (issue 16, section 7): Graph bytes per
tenant per incremental sync with `[sync] membership_check` off (incremental
listings only: the behaviour before) and on (a `$select=id,lastModifiedDateTime`
membership listing first, then what is late read by id), and the posts each
leaves out of the archive.

The Graph simulator in its own process serves a generated corpus; two
archives (off, on) are synced in lock-step from the same simulator state:
a first (complete) sync, a quiet incremental sync (nothing changed), then
`--days` days pass (`POST /_sim/advance`: edits, new posts, about one new
post in 300 listed late, dated before posts already listed) and each
archive syncs incrementally; the posts each archive holds per tenant are
compared between the two archives.

Bytes do not depend on the build profile: any build will do
(`CHANGEDESK_BENCH_BIN=target/debug/changedesk`); without it, a release
build is made.

Usage: python3 bench/late_bench.py [--posts 3000] [--tenants 20] [--days 7] [--write bench/RESULTS.md]
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
BIN = os.environ.get("CHANGEDESK_BENCH_BIN") or os.path.join(ROOT, "target", "release", "changedesk")


def run(args, env):
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"command failed ({p.returncode}): {' '.join(args)}\n{p.stderr[-3000:]}")
    return p.stdout


def sync(cfg, db, env, *extra):
    out = json.loads(run([BIN, "--config", cfg, "--database", db, "sync", "--quiet", "--format", "json", *extra], env))
    failed = [o["tenant"] for o in out if o.get("error")]
    if failed:
        sys.exit(f"{len(failed)} tenants failed: {failed[:5]}")
    return out


def posts_per_tenant(cfg, db, env):
    rows = json.loads(run([BIN, "--config", cfg, "--database", db, "tenants", "list", "--format", "json"], env))
    return {r["name"]: (r.get("archive") or {}).get("posts_visible", 0) for r in rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=3000)
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--port", type=int, default=18937)
    ap.add_argument("--write", help="update this RESULTS.md")
    args = ap.parse_args()

    if not os.environ.get("CHANGEDESK_BENCH_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "changedesk"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="changedesk-late-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEDESK_")}
    env["CHANGEDESK_LOG"] = "error"
    cfg = os.path.join(work, "sim.toml")
    sim = subprocess.Popen(
        [BIN, "sim", "--listen", f"127.0.0.1:{args.port}", "--generate", str(args.posts), "--tenants",
         str(args.tenants), "--seed", "7", "--write-config", cfg],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {}
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/_sim/tenants", timeout=1).read()
                if os.path.exists(cfg):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        modes = {"off": "false", "on": "true"}
        dbs = {m: f"sqlite://{os.path.join(work, m + '.db')}" for m in modes}
        envs = {m: dict(env, CHANGEDESK_SYNC__MEMBERSHIP_CHECK=v) for m, v in modes.items()}

        def step(name):
            for m in modes:
                out = sync(cfg, dbs[m], envs[m])
                per = [o["bytes"] for o in out]
                late = sum((o.get("messages") or {}).get("late", 0) for o in out)
                requests = statistics.median(o["requests"] for o in out)
                kinds = sorted({o["messages"]["mode"] for o in out})
                results[(name, m)] = dict(bytes=statistics.median(per), total=sum(per), requests=requests,
                                          late=late, mode="/".join(kinds))
                print(f"{name}, membership check {m}: median {statistics.median(per):,.0f} bytes per tenant, "
                      f"{requests:.0f} requests, {late} late posts read by id, listing {'/'.join(kinds)}",
                      file=sys.stderr)

        step("first sync (complete)")
        step("quiet incremental sync")
        req = urllib.request.Request(f"http://127.0.0.1:{args.port}/_sim/advance",
                                     data=json.dumps({"days": args.days, "seed": 5}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=120).read()
        step(f"incremental sync after {args.days} days")
        # both archives mark nothing gone between complete listings, so what
        # one holds beyond the other is what the other missed
        held = {m: posts_per_tenant(cfg, dbs[m], env) for m in modes}
        missing = {
            "off": sum(max(0, held["on"][t] - held["off"].get(t, 0)) for t in held["on"]),
            "on": sum(max(0, held["off"][t] - held["on"].get(t, 0)) for t in held["off"]),
        }
        for m in modes:
            print(f"membership check {m}: {missing[m]} tenant-posts the other archive holds and this one lacks", file=sys.stderr)
    finally:
        sim.terminate()
        sim.wait()
        shutil.rmtree(work, ignore_errors=True)

    lines = ["| sync | membership check | bytes per tenant (median) | requests per tenant | listing | late posts read by id (all tenants) |",
             "|---|---|---|---|---|---|"]
    for (name, m), r in results.items():
        lines.append(f"| {name} | {m} | {r['bytes']:,.0f} | {r['requests']:.0f} | {r['mode']} | {r['late']} |")
    lines.append("")
    lines.append(f"After the {args.days} days, tenant-posts (a post seen by a tenant) one archive holds and the other "
                 f"lacks: {missing['off']} missing with the check off, {missing['on']} with it on.")
    table = "\n".join(lines)
    print(table)
    if args.write:
        section = ("<!-- late-bench -->\n## Late posts: the membership check (issue 16)\n\n"
                   f"Command: `python3 bench/late_bench.py --posts {args.posts} --tenants {args.tenants} --days {args.days} "
                   "--write bench/RESULTS.md` (simulator in its own process, each tenant seeing about 85 % of the posts; "
                   "two SQLite archives synced in lock-step, `[sync] membership_check` off and on; bytes are Graph "
                   "response bodies as the client read them, token requests not counted).\n\n" + table + "\n<!-- /late-bench -->")
        text = open(args.write).read() if os.path.exists(args.write) else "# Benchmark results\n"
        if "<!-- late-bench -->" in text:
            text = re.sub(r"<!-- late-bench -->.*<!-- /late-bench -->", lambda _: section, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        open(args.write, "w").write(text)


if __name__ == "__main__":
    main()
