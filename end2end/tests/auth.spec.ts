import { test, expect, signIn, waitForHydration, DEMO_PASSWORD } from './fixtures';

test('the anonymous are sent to sign in, and come back where they were going', async ({ page, consoleProblems }) => {
  await page.goto('/no/such/page?x=1');
  await expect(page).toHaveURL(/\/login\?next=%2Fno%2Fsuch%2Fpage%3Fx%3D1$/);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await waitForHydration(page);

  await page.getByLabel('Email').fill('manager@example.com');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/no\/such\/page\?x=1$/);
  await expect(page.locator('[data-user-email]')).toHaveText('manager@example.com');
  await expect(page.locator('[data-user-role]')).toHaveText('Manager');
  expect(consoleProblems).toEqual([]);
});

test('signing out ends the session; the old page needs signing in again', async ({ page }) => {
  await signIn(page, 'admin');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=%2F$/);
  // The session is gone on the server too, not only the cookie.
  const status = await page.request.post('/api/status', { headers: { Accept: 'application/json' } });
  expect(status.status()).toBe(401);
});

test('a wrong password is refused in words, without saying which part was wrong', async ({ page }) => {
  await page.goto('/login');
  await waitForHydration(page);
  await page.getByLabel('Email').fill('viewer@example.com');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
});

test('the sign-in form works before (or without) the wasm', async ({ browser, baseURL }) => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const page = await context.newPage();
  await page.goto('/login?next=%2F');
  await page.getByLabel('Email').fill('viewer@example.com');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.locator('[data-user-email]')).toHaveText('viewer@example.com');
  await context.close();
});
