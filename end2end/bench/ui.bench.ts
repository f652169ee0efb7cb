// The front end's performance budget, measured on this machine against the
// release build on the emulated cluster: bundle size, details page response
// time, time to interactive, and how fast a ready pod turns a node green.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { test, expect, signIn, waitForHydration } from '../tests/fixtures';

const root = path.resolve(__dirname, '..', '..');
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.join(root, 'target/site');

const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const ms = (x: number) => x.toFixed(1);

/** Bytes on the wire (not decompressed) and the encoding the server chose. */
function wireBytes(url: string): Promise<{ wire: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'accept-encoding': 'br, gzip' } }, (res) => {
      let wire = 0;
      res.on('data', (chunk: Buffer) => { wire += chunk.length; });
      res.on('end', () => resolve({ wire, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
    }).on('error', reject);
  });
}

test('UI performance budget', async ({ page }) => {
  const lines: string[] = [];

  // 1. Bundle: what a first visit downloads, as the server sends it to a
  // browser that accepts brotli (bytes on the wire), beside plain gzip.
  const pkg = path.join(siteRoot, 'pkg');
  const files = readdirSync(pkg).filter((f) => /\.(wasm|js|css)$/.test(f));
  const sizes = [];
  for (const f of files) {
    const raw = readFileSync(path.join(pkg, f));
    const served = await wireBytes(`${process.env.CONSOLE_BASE_URL}/pkg/${f}`);
    sizes.push({ f, raw: raw.length, gz: gzipSync(raw).length, ...served });
  }
  const code = sizes.filter((s) => !s.f.endsWith('.css'));
  const codeWire = code.reduce((n, s) => n + s.wire, 0);
  const codeGz = code.reduce((n, s) => n + s.gz, 0);
  expect(code.every((s) => s.encoding === 'br'), 'served with brotli').toBe(true);
  expect(codeWire, 'wasm + JS compressed under 400 KB').toBeLessThan(400 * 1024);

  // 2. Details page: full server render (session, database, live state).
  await signIn(page, 'manager', '/runtimes/demo/versions/v1');
  const detailsUrl = '/runtimes/demo/versions/v1';
  // Plain HTTP with the session cookie (Playwright's request API adds tens
  // of ms of its own), uncompressed, on a kept-alive connection.
  const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const fetchPage = () => new Promise<{ status: number; ms: number }>((resolve, reject) => {
    const t0 = performance.now();
    http.get(`${process.env.CONSOLE_BASE_URL}${detailsUrl}`, { agent, headers: { cookie, 'accept-encoding': 'identity' } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    }).on('error', reject);
  });
  for (let i = 0; i < 20; i++) await fetchPage();
  const render: number[] = [];
  for (let i = 0; i < 200; i++) {
    const answer = await fetchPage();
    expect(answer.status).toBe(200);
    render.push(answer.ms);
  }
  agent.destroy();
  expect(median(render), 'details page under 10 ms median').toBeLessThan(10);

  // 3. Interactive: navigation start to hydrated, in a fresh page each time.
  const interactive: number[] = [];
  const contentLoaded: number[] = [];
  for (let i = 0; i < 10; i++) {
    const fresh = await page.context().newPage();
    await fresh.goto(detailsUrl);
    await fresh.waitForFunction(() => document.querySelector('[data-hydrated="true"]'), null, { polling: 'raf' });
    interactive.push(await fresh.evaluate(() => performance.now()));
    contentLoaded.push(await fresh.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return nav.domContentLoadedEventEnd;
    }));
    await fresh.close();
  }
  expect(median(interactive), 'interactive under 1 s').toBeLessThan(1000);

  // 4. Event to green: start v2 repeatedly; in the page, a second
  // EventSource timestamps the event in which every node is ready, and a
  // MutationObserver the moment the last node box turns green.
  const runs: { total: number; render: number }[] = [];
  await page.goto('/runtimes/demo/versions/v2');
  await waitForHydration(page);
  for (let i = 0; i < 5; i++) {
    await expect(page.locator('[data-live="live"]')).toBeAttached();
    await page.evaluate(() => {
      const w = window as unknown as Record<string, number | undefined>;
      w.__eventAt = undefined;
      w.__greenAt = undefined;
      const source = new EventSource('/api/live/runtimes/demo/versions/v2');
      source.addEventListener('version', (e) => {
        const live = JSON.parse((e as MessageEvent).data);
        if (w.__eventAt === undefined && live.nodes.length > 0 && live.nodes.every((n: { status: string }) => n.status === 'ready')) {
          w.__eventAt = performance.now();
          source.close();
        }
      });
      const observer = new MutationObserver(() => {
        const nodes = [...document.querySelectorAll('[data-node]')];
        if (w.__greenAt === undefined && nodes.length > 0 && nodes.every((n) => n.getAttribute('data-status') === 'ready')) {
          w.__greenAt = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
    });
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByRole('dialog').getByRole('textbox', { name: 'Reason' }).fill(`benchmark run ${i}`);
    const clickedAt = await page.evaluate(() => performance.now());
    await page.getByRole('dialog').getByRole('button', { name: 'Start' }).click();
    await page.waitForFunction(() => (window as unknown as Record<string, number | undefined>).__greenAt !== undefined
      && (window as unknown as Record<string, number | undefined>).__eventAt !== undefined, null, { timeout: 60_000 });
    const { eventAt, greenAt } = await page.evaluate(() => {
      const w = window as unknown as Record<string, number>;
      return { eventAt: w.__eventAt, greenAt: w.__greenAt };
    });
    runs.push({ total: greenAt - clickedAt, render: Math.max(0, greenAt - eventAt) });
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('dialog').getByRole('textbox', { name: 'Reason' }).fill(`benchmark stop ${i}`);
    await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped', { timeout: 60_000 });
  }

  const total = runs.map((r) => r.total);
  const renderLag = runs.map((r) => r.render);
  lines.push(
    '# UI benchmark',
    '',
    `Generated by \`make bench\` (\`cd end2end && npx playwright test -c bench.config.ts\`, release build, server on the emulated cluster) on ${new Date().toISOString()}. Machine: ${cpus().length} cores. Browser: Debian Chromium, headless.`,
    '',
    '## Front end bundle (budget: wasm + JS under 400 KB compressed)',
    '',
    'Served: what the console sends a browser accepting `br, gzip` (bytes on the wire). gzip -6: the same file gzipped, for comparison.',
    '',
    '| file | bytes | served | encoding | gzip -6 |',
    '|---|---:|---:|---|---:|',
    ...sizes.map((s) => `| ${s.f} | ${s.raw} | ${s.wire} | ${s.encoding} | ${s.gz} |`),
    `| **wasm + JS** | ${code.reduce((n, s) => n + s.raw, 0)} | **${codeWire} (${(codeWire / 1024).toFixed(0)} KB)** | | ${codeGz} |`,
    '',
    '## Details page (budget: server time under 10 ms median)',
    '',
    `\`GET ${detailsUrl}\` as a signed-in manager, 200 sequential requests after 20 warm-up, timed by a plain HTTP client over loopback on a kept-alive connection, uncompressed (an upper bound of server time): median ${ms(median(render))} ms, p90 ${ms(quantile(render, 0.9))} ms, p99 ${ms(quantile(render, 0.99))} ms.`,
    '',
    '## Time to interactive (budget: under 1 s)',
    '',
    `Navigation start to the page hydrated (\`data-hydrated="true"\`), fresh page each time, 10 runs: median ${ms(median(interactive))} ms, max ${ms(Math.max(...interactive))} ms. DOMContentLoaded: median ${ms(median(contentLoaded))} ms.`,
    '',
    '## Event to green',
    '',
    `Starting \`v2\` (entrypoint + 3 processes) 5 times. The emulator makes a scheduled pod Ready after 1500 ms, so about 1.5 s of the total is the simulated cluster.`,
    '',
    '| measure | median | max |',
    '|---|---:|---:|',
    `| confirm clicked → every node green | ${ms(median(total))} ms | ${ms(Math.max(...total))} ms |`,
    `| stream event with every node ready → last node green in the page | ${ms(median(renderLag))} ms | ${ms(Math.max(...renderLag))} ms |`,
    '',
  );
  writeFileSync(path.join(root, 'bench', 'ui.md'), lines.join('\n'));
  console.log(lines.join('\n'));
});
