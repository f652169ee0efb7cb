import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test, expect, signIn, waitForHydration } from './fixtures';

type Received = { headers: IncomingHttpHeaders; body: string };

// A receiver on loopback, as a chat tool or a pipeline would run one; it
// answers `status` (changeable) and keeps what it was sent.
async function receiver() {
  const received: Received[] = [];
  const state = { status: 503 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/console-events`, received, state, close: () => server.close() };
}

// The README's scheme: HMAC-SHA256, keyed with the secret, over "<t>.<body>".
function signedBy(secret: string, delivery: Received): boolean {
  const header = String(delivery.headers['console-signature'] ?? '');
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${delivery.body}`).digest('hex');
  return !!parts.v1 && timingSafeEqual(Buffer.from(parts.v1), Buffer.from(expected));
}

test('an admin adds a webhook, its deliveries are signed, retried, logged and sent again', async ({ page, consoleProblems }) => {
  const hook = await receiver();
  try {
    await signIn(page, 'admin', '/runtimes/demo/settings');
    await waitForHydration(page);
    await page.locator('[data-webhooks-link]').click();
    await expect(page).toHaveURL(/\/runtimes\/demo\/webhooks$/);
    await waitForHydration(page);
    await page.getByLabel('URL', { exact: true }).fill(hook.url);
    await page.getByLabel('Status changes').uncheck();
    await page.getByLabel('Registrations').check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secretText = page.locator('[data-webhook-secret]');
    await expect(secretText).toContainText('whsec_');
    const secret = (await secretText.textContent())!.trim();
    const row = page.locator(`tr[data-webhook="${hook.url}"]`);
    await expect(row).toContainText('Registrations');

    // A registration is the event; the receiver refuses it at first.
    await page.goto('/runtimes');
    await waitForHydration(page);
    await page.getByLabel('Runtime', { exact: true }).selectOption('demo');
    await page.getByRole('textbox', { name: 'Manifest' }).fill(
      'name: hook1\nentrypoint:\n  image: registry.example.com/gw:1\n  port: 8080\nprocesses:\n  - name: a\n    image: registry.example.com/a:1\n    inputs: [entrypoint]\n',
    );
    await page.getByRole('button', { name: 'Register version' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Registered hook1' })).toBeVisible();
    await expect.poll(() => hook.received.length).toBeGreaterThan(0);
    const first = hook.received[0];
    expect(first.headers['console-event']).toBe('version.register');
    expect(JSON.parse(first.body).version).toBe('hook1');
    expect(signedBy(secret, first)).toBe(true);
    expect(signedBy(secret, { ...first, body: first.body.replace('hook1', 'hook2') })).toBe(false);

    // The delivery log says it failed and will be tried again.
    await page.goto('/runtimes/demo/webhooks');
    await page.getByRole('link', { name: hook.url }).click();
    await waitForHydration(page);
    const delivery = page.locator('tr[data-delivery]').first();
    await expect(delivery).toHaveAttribute('data-delivery-state', 'pending');
    await expect(delivery).toHaveAttribute('data-delivery-attempts', '1');
    await expect(delivery).toContainText('503');

    // The receiver is back: "Send again" sends it now, not at the next try.
    hook.state.status = 204;
    const before = hook.received.length;
    await delivery.getByRole('button', { name: /Send event \d+ again/ }).click();
    await expect.poll(() => hook.received.length).toBeGreaterThan(before);
    const again = hook.received[hook.received.length - 1];
    expect(again.body).toBe(first.body);
    expect(again.headers['console-event-id']).toBe(first.headers['console-event-id']);
    expect(signedBy(secret, again)).toBe(true);
    await expect.poll(async () => {
      await page.reload();
      return page.locator('tr[data-delivery]').first().getAttribute('data-delivery-state');
    }).toBe('delivered');
    expect(consoleProblems).toEqual([]);
  } finally {
    hook.close();
  }
});
