// Starts `changedesk demo` for the browser tests and the screenshots: the
// Graph simulator, a week of syncs, sample owners, rules and users, then the
// web UI on a free loopback port. The demo prints the address and each
// user's password (new for every run) in a table; this reads both from its
// standard output, waits for /readyz, and stops the server with Ctrl-C
// (SIGINT) like a person would.
//
// The binary: CHANGEDESK_BIN if set (CI passes the debug build that
// `cargo test` produced), else `cargo build -p changedesk` (debug) once.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The demo's users, as `changedesk demo` creates them (demo.rs). */
export const DEMO_USERS = ['admin', 'manager', 'collaboration', 'comms', 'reader', 'pilot'];

/** The tenants of the demo's `pilot` tenant group (demo.rs: include = ["tenant-001"]). */
export const PILOT_TENANTS = ['tenant-001'];

/**
 * A fixed clock for the demo, so the corpus, the dates and the screenshots
 * are the same on every run (the session cookie has no expiry date, so a
 * clock in the past does not sign anyone out).
 */
export const DEMO_NOW = '2026-03-10T09:00:00Z';

/** How long the demo may take to sync and start serving. */
const START_TIMEOUT_MS = Number(process.env.CHANGEDESK_DEMO_TIMEOUT_MS || 300_000);

let built;

/** The changedesk binary to run: CHANGEDESK_BIN, or a debug build made once. */
export function changedeskBinary() {
  const bin = process.env.CHANGEDESK_BIN;
  if (bin) {
    if (!existsSync(bin)) {
      return Promise.reject(new Error(`CHANGEDESK_BIN=${bin} does not exist`));
    }
    return Promise.resolve(resolve(bin));
  }
  built ??= new Promise((ok, fail) => {
    // the JSON messages name the executable wherever the target directory is
    execFile(
      'cargo',
      ['build', '-p', 'changedesk', '--bin', 'changedesk', '--message-format=json-render-diagnostics'],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          fail(new Error(`cargo build -p changedesk failed:\n${stderr}`));
          return;
        }
        const exe = stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l))
          .filter((m) => m.reason === 'compiler-artifact' && m.executable && m.target?.name === 'changedesk')
          .map((m) => m.executable)
          .pop();
        if (!exe) fail(new Error('cargo build -p changedesk named no changedesk executable'));
        else ok(exe);
      },
    );
  });
  return built;
}

/**
 * Reads the address and the password table the demo prints:
 *
 *   The web UI: http://127.0.0.1:PORT/   (…)
 *   │ manager       ┆ C7sP-MxmG-52fG-6qtI ┆ change_manager ┆ … │
 *
 * Returns `{ url, passwords }` once every demo user is there, else null.
 */
export function parseDemoOutput(text) {
  const m = text.match(/^The web UI: (http:\/\/[^\s/]+\/)/m);
  if (!m) return null;
  const passwords = {};
  for (const line of text.slice(m.index).split('\n')) {
    const cells = line.split(/[│┆|]/).map((c) => c.trim());
    // a row: '', name, password, role, may, ''
    if (cells.length >= 4 && DEMO_USERS.includes(cells[1]) && /^[A-Za-z0-9-]{12,}$/.test(cells[2])) {
      passwords[cells[1]] = cells[2];
    }
  }
  if (!DEMO_USERS.every((u) => u in passwords)) return null;
  return { url: m[1], passwords };
}

/** The environment for the demo: none of this shell's CHANGEDESK_* settings. */
function demoEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CHANGEDESK_')) env[k] = v;
  }
  return { ...env, CHANGEDESK_NOW: DEMO_NOW, ...extra };
}

async function waitReady(url, child, deadline) {
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the demo exited (${child.exitCode}) before it was ready`);
    try {
      const r = await fetch(new URL('/readyz', url));
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${url}readyz was not ready in time (${last})`);
}

/**
 * Runs `changedesk demo --serve --listen 127.0.0.1:0` in a new temporary
 * directory. Resolves to `{ url, origin, passwords, output, dir, stop }`.
 */
export async function startDemo({ env = {} } = {}) {
  const bin = await changedeskBinary();
  const dir = await mkdtemp(join(tmpdir(), 'changedesk-e2e-'));
  const child = spawn(bin, ['demo', '--serve', '--listen', '127.0.0.1:0'], {
    cwd: dir,
    env: demoEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let parsed = null;
    while (!(parsed = parseDemoOutput(stdout))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the demo exited (${child.exitCode ?? child.signalCode}) before serving`);
      }
      if (Date.now() > deadline) throw new Error('the demo printed no address and passwords in time');
      await new Promise((ok) => setTimeout(ok, 100));
    }
    await waitReady(parsed.url, child, deadline);
    return {
      url: parsed.url,
      origin: new URL(parsed.url).origin,
      passwords: parsed.passwords,
      output: () => stdout,
      // the demo's working directory (its e-mails: changedesk-demo-mail/)
      dir,
      stop,
    };
  } catch (e) {
    await stop();
    e.message += `\n--- demo stdout ---\n${stdout.slice(-4000)}\n--- demo stderr ---\n${stderr.slice(-4000)}`;
    throw e;
  }
}
