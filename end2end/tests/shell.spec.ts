import { test, expect, signIn, waitForHydration } from './fixtures';

test.beforeEach(async ({ page }, testInfo) => {
  if (!testInfo.title.includes('probes')) await signIn(page, 'viewer');
});

test('the home page renders on the server and hydrates without console problems', async ({ page, consoleProblems }) => {
  // Server-rendered HTML: the button that needs the wasm starts disabled.
  const html = await (await page.request.get('/')).text();
  expect(html).toContain('data-hydrated="false"');
  expect(html).toMatch(/<button[^>]*disabled[^>]*>[^<]*Check server status/);

  await page.goto('/');
  await expect(page).toHaveTitle('Runtime Console');
  await expect(page.getByRole('banner')).toContainText('Runtime Console');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Runtime versions on Kubernetes');
  await waitForHydration(page);
  expect(consoleProblems).toEqual([]);
});

test('after hydration the status button calls the server and shows the answer', async ({ page, consoleProblems }) => {
  await page.goto('/');
  const button = page.getByRole('button', { name: 'Check server status' });
  await expect(button).toBeEnabled();
  await button.click();
  const result = page.getByRole('status');
  await expect(result.locator('[data-dependency="database"]')).toHaveAttribute('data-state', 'ok');
  await expect(result.locator('[data-dependency="database"]')).toHaveText('reachable (sqlite)');
  await expect(result.locator('[data-dependency="cluster"]')).toHaveText('reachable (v1.34.0-emulator)');
  await expect(button).toBeEnabled();
  expect(consoleProblems).toEqual([]);
});

test('an unknown version answers 404 in words, with a way back', async ({ page }) => {
  const response = await page.goto('/runtimes/nowhere/versions/nothing');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('alert')).toHaveText('There is no version "nothing" in runtime "nowhere".');
  await waitForHydration(page);
  await page.getByRole('link', { name: 'All runtimes' }).click();
  await expect(page).toHaveURL(/\/runtimes$/);
});

test('an unknown address answers 404 with a page that leads back', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Back to the overview' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Runtime versions on Kubernetes');
});

test('health and readiness probes answer JSON', async ({ request }) => {
  const health = await request.get('/healthz');
  expect(health.status()).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok' });

  const ready = await request.get('/readyz');
  expect(ready.status()).toBe(200);
  expect(await ready.json()).toEqual({
    ready: true,
    database: { state: 'ok', detail: 'sqlite' },
    cluster: { state: 'ok', detail: 'v1.34.0-emulator' },
  });
});

test('the layout stays usable at 390 px wide', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/');
  await waitForHydration(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByRole('button', { name: 'Check server status' })).toBeInViewport();
});
