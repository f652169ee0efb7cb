import { test, expect, signIn, waitForHydration } from './fixtures';

// The Content-Security-Policy every page carries: the console hydrates and
// works under it (the details page's graph, its live stream and an action
// dialog included), and a script injected into the page is blocked and
// reported to the console's report endpoint.

test('the app hydrates and works under its Content-Security-Policy', async ({ page, consoleProblems }) => {
  await signIn(page, 'manager');
  const response = await page.goto('/runtimes/demo/versions/v1');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self' 'nonce-");
  expect(csp).not.toContain('unsafe-inline');
  await waitForHydration(page);
  await expect(page.getByRole('group', { name: 'Process graph' })).toBeVisible();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toBeHidden();
  expect(consoleProblems).toEqual([]);
});

test('an injected inline script is blocked and the violation reported', async ({ page }) => {
  await signIn(page, 'viewer');
  await page.goto('/audit');
  await waitForHydration(page);
  const violation = page.evaluate(
    () =>
      new Promise<string>((resolve) =>
        document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true }),
      ),
  );
  const reported = page.waitForRequest(
    (request) => request.url().endsWith('/api/csp-report') && request.method() === 'POST',
  );
  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.__injected = true;';
    document.body.appendChild(script);
  });
  expect(await violation).toMatch(/^script-src/);
  expect(await page.evaluate(() => (window as { __injected?: boolean }).__injected)).toBeUndefined();
  const report = await reported;
  expect((await report.response())?.status()).toBe(204);
});
