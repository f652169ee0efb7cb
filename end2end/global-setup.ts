// Starts the console once for the whole run: built binary, fresh SQLite
// database in demo mode (demo users and runtime) on the emulated cluster, a free port chosen by the OS. The address reaches the tests
// through CONSOLE_BASE_URL. The server also exits by itself when this process
// goes away, because it watches its standard input.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const root = path.resolve(__dirname, '..');
const STARTUP_DEADLINE_MS = 60_000;

export default async function globalSetup() {
  if (process.env.CONSOLE_BASE_URL) {
    // Pointed at a server someone else runs.
    return;
  }
  const serverBin = process.env.CONSOLE_SERVER_BIN ?? path.join(root, 'target/debug/server');
  const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.join(root, 'target/site');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'console-e2e-'));

  const server = spawn(
    serverBin,
    [
      '--listen', '127.0.0.1:0',
      '--database-url', `sqlite://${dataDir}/console.db`,
      // The embedded Kubernetes emulator: versions really start and stop.
      // A short failure grace lets a failing image reach `error` quickly.
      '--cluster', 'emulated',
      '--failure-grace-seconds', '3',
      '--demo',
      '--site-root', siteRoot,
      '--shutdown-on-stdin-eof',
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, CONSOLE_LOG: process.env.CONSOLE_LOG ?? 'warn' } },
  );

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not print its address within ${STARTUP_DEADLINE_MS} ms`)),
      STARTUP_DEADLINE_MS,
    );
    server.once('error', (err) => { clearTimeout(timer); reject(err); });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited early with code ${code}`)); });
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const match = /^listening on (http:\/\/\S+)$/.exec(line);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
  });
  server.removeAllListeners('exit');
  process.env.CONSOLE_BASE_URL = baseUrl;
  console.log(`console under test at ${baseUrl}`);

  return async () => {
    const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
    server.stdin!.end();
    const deadline = new Promise<void>((resolve) => setTimeout(() => { server.kill('SIGKILL'); resolve(); }, 15_000));
    await Promise.race([exited, deadline]);
    rmSync(dataDir, { recursive: true, force: true });
  };
}
