import { test, expect, signIn, waitForHydration } from './fixtures';

// A token made on /profile is shown once, works against the REST API as a
// bearer, shows up on the admins' /users list, and stops the moment it is
// revoked.
test('a manager makes an API token, uses it, and revokes it', async ({ page, request, consoleProblems }) => {
  await signIn(page, 'manager', '/profile');
  await waitForHydration(page);
  const name = `pipeline-${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Scope').selectOption('operate');
  await page.getByLabel('Expires in (days)').fill('30');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.locator('[data-token-secret]');
  await expect(secret).toContainText('cst_');
  const token = (await secret.textContent())!.trim();
  const row = page.locator(`[data-token="${name}"]`);
  await expect(row).toHaveAttribute('data-token-state', 'active');
  await expect(row.locator('[data-token-scope]')).toHaveAttribute('data-token-scope', 'operate');
  // The list shows a prefix, never the token.
  await expect(page.locator('[data-tokens]')).not.toContainText(token);

  const auth = { Authorization: `Bearer ${token}` };
  const runtimes = await request.get('/api/v1/runtimes', { headers: auth });
  expect(runtimes.status()).toBe(200);
  expect((await runtimes.json()).map((r: { name: string }) => r.name)).toContain('demo');

  await page.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(row).toHaveAttribute('data-token-state', 'revoked');
  const refused = await request.get('/api/v1/runtimes', { headers: auth });
  expect(refused.status()).toBe(401);
  expect(refused.headers()['content-type']).toBe('application/problem+json');
  expect(consoleProblems).toEqual([]);
});

test('an admin sees every user\'s tokens on /users', async ({ page, browser, baseURL }) => {
  await signIn(page, 'viewer', '/profile');
  await waitForHydration(page);
  const name = `dashboards-${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.locator('[data-token-secret]')).toContainText('cst_');
  // A viewer cannot make a wider token: the server says so.
  await page.getByLabel('Name').fill(`${name}-wide`);
  await page.getByLabel('Scope').selectOption('admin');
  await page.getByRole('button', { name: 'Create token' }).click();
  await expect(page.locator('.form-error')).toContainText('scope read at most');

  // (That refusal is a 403 answer: no console check in this test.)

  const admin = await (await browser.newContext({ baseURL })).newPage();
  await signIn(admin, 'admin', '/users');
  await waitForHydration(admin);
  const row = admin.locator(`[data-token="${name}"]`);
  await expect(row).toContainText('viewer@example.com');
  await expect(row).toHaveAttribute('data-token-state', 'active');
});
