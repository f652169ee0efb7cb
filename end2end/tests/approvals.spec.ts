import { test, expect, signIn, waitForHydration } from './fixtures';
import type { Browser, Page } from '@playwright/test';

// Four eyes in the browser: an admin turns approval on for a runtime of its
// own (so the demo runtime's other tests are not held), a manager's Publish
// becomes a change request, the admin approves it on /approvals, and the
// manager's open screen shows the version published, live.

async function signedInPage(browser: Browser, baseURL: string | undefined, role: 'admin' | 'manager', next: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, role, next);
  await waitForHydration(page);
  return page;
}

async function act(page: Page, action: string, reason: string) {
  await page.getByRole('button', { name: action, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
  await dialog.getByRole('button', { name: action, exact: true }).click();
  await expect(dialog).toBeHidden();
}

test('a manager asks to publish, an admin approves on /approvals, and the manager sees it published live', async ({ browser, baseURL }) => {
  const admin = await signedInPage(browser, baseURL, 'admin', '/runtimes');
  await admin.getByRole('link', { name: 'New runtime' }).click();
  const form = admin.locator('section[aria-labelledby="new-runtime-heading"]');
  await form.getByLabel('Name', { exact: true }).fill('gated');
  await form.getByLabel('Host', { exact: true }).fill('gated.example.com');
  await form.getByLabel('Reason').fill('a regulated team');
  await form.getByRole('button', { name: 'Create runtime' }).click();
  await expect(form.getByRole('status')).toContainText('Created runtime gated');
  await admin.goto('/runtimes/gated/settings');
  await waitForHydration(admin);
  await admin.getByLabel('Actions need approval (four eyes)').check();
  await admin.getByLabel('Reason').first().fill('four eyes on production traffic');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await expect(admin.getByRole('status')).toBeVisible();

  const manager = await signedInPage(browser, baseURL, 'manager', '/runtimes');
  await manager.getByLabel('Runtime', { exact: true }).selectOption('gated');
  await manager.getByRole('textbox', { name: 'Manifest' }).fill(
    'name: g1\nentrypoint:\n  image: registry.example.com/gw:1\n  port: 8080\nprocesses:\n  - name: cart\n    image: registry.example.com/cart:1\n    inputs: [entrypoint]\n',
  );
  await manager.getByRole('button', { name: 'Register version' }).click();
  await expect(manager.getByRole('status').filter({ hasText: 'Registered g1 in gated' })).toBeVisible();
  await manager.goto('/runtimes/gated/versions/g1');
  await waitForHydration(manager);
  const status = manager.locator('[data-version-status]');
  // Starting is not held by the default policy; publishing is.
  await act(manager, 'Start', 'warm up g1');
  await expect(status).toHaveAttribute('data-version-status', 'started');
  await act(manager, 'Publish', 'release g1 to customers');
  const waiting = manager.locator('[data-change-request]');
  await expect(waiting).toContainText('waiting for 1 approval, requested by manager@example.com');
  await expect(waiting).toHaveAttribute('data-request-state', 'open');
  await expect(status).toHaveAttribute('data-version-status', 'started');

  await admin.goto('/approvals');
  await waitForHydration(admin);
  const request = admin.locator('[data-change-request]').filter({ hasText: 'gated/g1' });
  await expect(request).toHaveAttribute('data-request-state', 'open');
  await request.getByLabel('Reason').fill('checked the release notes');
  await request.getByRole('button', { name: 'Approve' }).click();
  await expect(admin.locator('[data-change-request]').filter({ hasText: 'gated/g1' })).toHaveCount(0);

  // The manager's screen, left open, follows: published, and nothing waits.
  await expect(status).toHaveAttribute('data-version-status', 'published');
  await expect(manager.locator('[data-change-request]')).toHaveCount(0);
  await manager.context().close();
  await admin.context().close();
});
