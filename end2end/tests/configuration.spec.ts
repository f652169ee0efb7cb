import { test, expect, signIn, waitForHydration } from './fixtures';

// The demo's v4 declares variables: its Start waits for them, the
// Configuration section sets them (a secret only ever shown as "set"), and
// a change while it runs rolls its pods, amber then green, on the screen.
test('a manager configures v4, starts it, and changes a value while it runs', async ({ page, consoleProblems }) => {
  await signIn(page, 'manager', '/runtimes/demo/versions/v4');
  await waitForHydration(page);
  const start = page.getByRole('button', { name: 'Start', exact: true });
  await expect(start).toBeDisabled();
  await expect(page.locator('#why-start')).toContainText('configuration');
  await expect(page.locator('#why-start')).toContainText('DATABASE_URL, RULES_API_KEY');
  const secretSet = page.locator('[data-config-field="RULES_API_KEY"] [data-config-secret-set]');
  await expect(secretSet).toHaveAttribute('data-config-secret-set', 'false');

  await page.getByLabel('DATABASE_URL', { exact: true }).fill('postgres://history.internal/fraud');
  await page.getByLabel('RULES_API_KEY', { exact: true }).fill('e2e-secret-value');
  await page.getByLabel('Reason for the change').fill('Configure v4 for the demo');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await expect(secretSet).toHaveAttribute('data-config-secret-set', 'true');
  await expect(page.getByLabel('RULES_API_KEY', { exact: true })).toHaveValue('');
  await expect(page.locator('body')).not.toContainText('e2e-secret-value');
  await expect(start).toBeEnabled();

  await start.click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox', { name: 'Reason' }).fill('Start the configured v4');
  await dialog.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
  for (const node of ['entrypoint', 'enrich', 'score']) {
    await expect(page.locator(`[data-node="${node}"]`)).toHaveAttribute('data-status', 'ready');
  }

  // A new value for the running version: its nodes go amber as new pods
  // replace the old ones, then green again; it stays started.
  await page.getByLabel('DATABASE_URL', { exact: true }).fill('postgres://history-2.internal/fraud');
  await page.getByLabel('Reason for the change').fill('Move the history database');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.locator('[data-node="score"]')).toHaveAttribute('data-status', 'starting');
  for (const node of ['entrypoint', 'enrich', 'score']) {
    await expect(page.locator(`[data-node="${node}"]`)).toHaveAttribute('data-status', 'ready');
  }
  await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
  await expect(page.getByLabel('DATABASE_URL', { exact: true })).toHaveValue('postgres://history-2.internal/fraud');

  // Back to stopped for the tests after this one.
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Reason' }).fill('Done with v4');
  await dialog.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped');
  expect(consoleProblems).toEqual([]);
});
