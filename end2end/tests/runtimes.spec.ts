import { test, expect, signIn, waitForHydration } from './fixtures';

// An admin creates a runtime in the console, a manager registers a version
// into it; its settings page is the admin's to change and everyone else's to
// read.
test.describe.serial('runtimes managed in the console', () => {
  test('an admin creates a runtime, with every problem shown first, and changes its routing', async ({ page, consoleProblems }) => {
    await signIn(page, 'admin', '/runtimes');
    await waitForHydration(page);
    await page.getByRole('link', { name: 'New runtime' }).click();
    const form = page.locator('section[aria-labelledby="new-runtime-heading"]');
    await expect(form.getByRole('heading', { name: 'Create a runtime' })).toBeVisible();
    await form.getByLabel('Name', { exact: true }).fill('checkout');
    await form.getByLabel('Host', { exact: true }).fill('Not A Host');
    await form.getByLabel('Image pull secrets').fill('registry, Bad_Name');
    await form.getByLabel('Reason').fill('a team moves in');
    await form.getByRole('button', { name: 'Create runtime' }).click();
    const problems = form.locator('[data-field-errors]');
    await expect(problems).toContainText('host');
    await expect(problems).toContainText('image_pull_secrets[1]');
    // Nothing typed is lost.
    await expect(form.getByLabel('Image pull secrets')).toHaveValue('registry, Bad_Name');

    await form.getByLabel('Host', { exact: true }).fill('checkout.example.com');
    await form.getByLabel('Ingress class').fill('nginx');
    await form.getByLabel('Image pull secrets').fill('registry');
    await form.getByRole('button', { name: 'Create runtime' }).click();
    await expect(form.getByRole('status')).toContainText('Created runtime checkout');
    await expect(page.locator('section[data-runtime="checkout"] [data-runtime-host]')).toHaveText('checkout.example.com');

    await page.getByRole('link', { name: 'Settings of checkout' }).click();
    await expect(page).toHaveURL(/\/runtimes\/checkout\/settings$/);
    await waitForHydration(page);
    await expect(page.getByLabel('Ingress class')).toHaveValue('nginx');
    await page.getByLabel('TLS', { exact: true }).selectOption('secret');
    await page.getByLabel('TLS secret').fill('checkout-cert');
    await page.getByLabel('Reason').first().fill('serve over TLS');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(page.getByRole('status')).toContainText('The Ingress follows');
    await page.reload();
    await expect(page.getByLabel('TLS secret')).toHaveValue('checkout-cert');
    // The refused first try answered 422, as it should; nothing else failed.
    expect(consoleProblems.filter((p) => !p.includes('422'))).toEqual([]);
  });

  test('a manager registers a version into it and reads its settings without changing them', async ({ page, consoleProblems }) => {
    await signIn(page, 'manager', '/runtimes');
    await waitForHydration(page);
    await page.getByLabel('Runtime', { exact: true }).selectOption('checkout');
    await page.getByRole('textbox', { name: 'Manifest' }).fill(
      'name: c1\nentrypoint:\n  image: registry.example.com/gw:1\n  port: 8080\nprocesses:\n  - name: cart\n    image: registry.example.com/cart:1\n    inputs: [entrypoint]\n',
    );
    await page.getByRole('button', { name: 'Register version' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Registered c1 in checkout' })).toBeVisible();
    await expect(page.locator('section[data-runtime="checkout"] tr[data-version="c1"]')).toHaveAttribute('data-list-status', 'stopped');

    await page.goto('/runtimes/checkout/settings');
    await waitForHydration(page);
    await expect(page.locator('[data-read-only]')).toBeVisible();
    await expect(page.getByLabel('TLS secret')).toBeDisabled();
    await expect(page.getByLabel('TLS secret')).toHaveValue('checkout-cert');
    await expect(page.getByRole('button', { name: 'Save settings' })).toHaveCount(0);
    await expect(page.getByRole('link', { name: 'c1' })).toBeVisible();
    expect(consoleProblems).toEqual([]);
  });
});
