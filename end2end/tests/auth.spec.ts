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

  // A wrong password comes back to the form with the message, still without wasm.
  const anonymous = await browser.newContext({ javaScriptEnabled: false, baseURL });
  const form = await anonymous.newPage();
  await form.goto('/login');
  await form.getByLabel('Email').fill('viewer@example.com');
  await form.getByLabel('Password').fill('not the password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(form).toHaveURL(/\/login/);
  await expect(form.getByRole('alert')).toHaveText('Wrong email or password.');
  await anonymous.close();
  await context.close();
});

test('an admin adds a user with a reason on /users, and the new user can sign in', async ({ page, browser, baseURL, consoleProblems }) => {
  await signIn(page, 'admin', '/users');
  await waitForHydration(page);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' })).toBeVisible();
  const email = `ops-${Date.now()}@example.com`;
  const form = page.getByRole('region', { name: 'Add a user' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Role').selectOption('manager');
  await form.getByLabel('Password').fill('a long enough password');
  await form.getByLabel('Reason').fill('new on-call engineer');
  await form.getByRole('button', { name: 'Add user' }).click();
  const row = page.locator(`tr[data-user="${email}"]`);
  await expect(row).toBeVisible();
  await expect(row.locator('[data-role]')).toHaveAttribute('data-role', 'manager');
  expect(consoleProblems).toEqual([]);

  const context = await browser.newContext({ baseURL });
  const other = await context.newPage();
  await other.goto('/login');
  await other.getByLabel('Email').fill(email);
  await other.getByLabel('Password').fill('a long enough password');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.locator('[data-user-role]')).toHaveText('Manager');
  // Managers do not get the users page, in the menu or by address.
  await expect(other.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' })).toHaveCount(0);
  await other.goto('/users');
  await expect(other.getByText('Only admins can manage users.')).toBeVisible();
  await context.close();
});
