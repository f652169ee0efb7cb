import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test, expect, signIn, waitForHydration, type DemoRole } from './fixtures';
import type { Browser, Page } from '@playwright/test';

// Screenshots of the run, kept beside the test results.
const SHOTS = path.resolve(__dirname, '..', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

const v = (name: string) => `/runtimes/demo/versions/${name}`;

/** Opens the reason dialog of `action`, types the reason and confirms. */
async function act(page: Page, action: string, reason: string) {
  await page.getByRole('button', { name: action, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('textbox', { name: 'Reason' }).fill(reason);
  await dialog.getByRole('button', { name: action, exact: true }).click();
}

/** A marker that survives only as long as the page is not reloaded. */
async function markPage(page: Page) {
  await page.evaluate(() => ((window as unknown as { __kept: boolean }).__kept = true));
}
async function expectNotReloaded(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __kept?: boolean }).__kept)).toBe(true);
}

async function signedInPage(browser: Browser, baseURL: string | undefined, role: DemoRole, next: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, role, next);
  await waitForHydration(page);
  return page;
}

// One demo cluster for the whole run: these steps build on each other.
test.describe.serial('operating versions', () => {
  test('a manager starts v1, watches every node turn green live, and publishes it with a reason that shows on /audit', async ({ page, consoleProblems }) => {
    await signIn(page, 'manager', v('v1'));
    await waitForHydration(page);
    await expect(page.locator('[data-live="live"]')).toBeAttached();
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped');
    for (const node of ['entrypoint', 'enrich', 'score']) {
      await expect(page.locator(`[data-node="${node}"]`)).toHaveAttribute('data-status', 'stopped');
    }
    await markPage(page);

    await act(page, 'Start', 'Roll out fraud scoring 1.0');
    await expect(page.getByRole('dialog')).toBeHidden();
    // Every node goes green from the event stream, without a reload.
    for (const node of ['entrypoint', 'enrich', 'score']) {
      await expect(page.locator(`[data-node="${node}"]`)).toHaveAttribute('data-status', 'ready');
    }
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
    await expect(page.locator('[data-node="enrich"]')).toContainText('ready 2/2');
    await expectNotReloaded(page);

    await act(page, 'Publish', 'Fraud scoring 1.0 <b>takes</b> traffic');
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'published');
    // The leader switches the Ingress after the publish; the timeline shows
    // the switch on top, then the operator's publish, without a reload.
    await expect(page.locator('[data-routing]')).toHaveAttribute('data-routing', 'serving');
    const timeline = page.locator('.timeline li');
    await expect(timeline.first()).toHaveAttribute('data-audit-action', 'runtime.routing_switched');
    await expect(timeline.nth(1)).toHaveAttribute('data-audit-action', 'version.publish');
    await expect(timeline.nth(1)).toContainText('Fraud scoring 1.0 <b>takes</b> traffic');
    await expect(page.locator('.timeline li[data-audit-action="version.system_transition"]')).toHaveCount(1);

    // Clicking a node shows its logs.
    await page.locator('[data-node="enrich"]').click();
    await expect(page.getByRole('heading', { name: 'Logs of enrich' })).toBeVisible();
    await expect(page.locator('[data-logs]')).toContainText('enrich');
    await expectNotReloaded(page);
    await page.screenshot({ path: path.join(SHOTS, 'version-details.png'), fullPage: true });

    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await expect(page).toHaveURL(/\/audit$/);
    const row = page.locator('tr[data-audit-action="version.publish"]').first();
    await expect(row).toHaveAttribute('data-audit-outcome', 'accepted');
    // Escaped, never interpreted.
    await expect(row).toContainText('Fraud scoring 1.0 <b>takes</b> traffic');
    await expect(row).toContainText('manager@example.com');
    await page.screenshot({ path: path.join(SHOTS, 'audit.png'), fullPage: true });
    expect(consoleProblems).toEqual([]);
  });

  test('a version whose image cannot be pulled shows its node red with the reason, then errors and can be stopped', async ({ page, consoleProblems }) => {
    await signIn(page, 'manager', v('broken'));
    await waitForHydration(page);
    await act(page, 'Start', 'Try the broken build');
    const worker = page.locator('[data-node="worker"]');
    await expect(worker).toHaveAttribute('data-status', 'error');
    await expect(worker).toContainText(/ErrImagePull|ImagePullBackOff/);
    await expect(page.locator('[data-node="entrypoint"]')).toHaveAttribute('data-status', 'ready');
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'error');
    await expect(page.locator('[data-version-error]')).toContainText('worker');
    await expect(page.getByRole('button', { name: 'Publish', exact: true })).toBeDisabled();

    await act(page, 'Stop', 'Clean up the broken build');
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped');
    await expect(worker).toHaveAttribute('data-status', 'stopped');
    expect(consoleProblems).toEqual([]);
  });

  test('two people acting on one version at once: one wins, the other is told who changed it', async ({ browser, baseURL }) => {
    const manager = await signedInPage(browser, baseURL, 'manager', v('v2'));
    const admin = await signedInPage(browser, baseURL, 'admin', v('v2'));
    for (const page of [manager, admin]) {
      await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped');
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.getByRole('dialog').getByRole('textbox', { name: 'Reason' }).fill('Start v2 for the comparison');
    }
    await manager.getByRole('dialog').getByRole('button', { name: 'Start' }).click();
    await expect(manager.getByRole('dialog')).toBeHidden();
    await admin.getByRole('dialog').getByRole('button', { name: 'Start' }).click();
    const refusal = admin.getByRole('dialog').getByRole('alert');
    await expect(refusal).toContainText('changed while you were looking');
    await expect(refusal).toContainText('manager@example.com');
    // The loser's page followed the change live; Escape closes the dialog.
    await admin.keyboard.press('Escape');
    await expect(admin.getByRole('dialog')).toBeHidden();
    await expect(admin.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
    await expect(manager.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');

    // Publishing v2 while v1 is published says so, by name.
    await manager.getByRole('button', { name: 'Publish', exact: true }).click();
    await expect(manager.getByRole('dialog')).toContainText('v1 is published now');
    // Before anything changes: what changed from v1, and what the API server
    // says of the objects the publish applies (a dry run).
    const publishDialog = manager.getByRole('dialog');
    await publishDialog.getByText('Changes from v1').click();
    await expect(publishDialog.locator('tr[data-diff-path="processes.rules"]')).toHaveAttribute('data-diff-kind', 'added');
    await publishDialog.getByRole('button', { name: 'Check what would be applied' }).click();
    await expect(publishDialog.locator('[data-dry-run-kind="Ingress"]')).toHaveAttribute('data-dry-run-verdict', 'update');
    await expect(publishDialog.locator('[data-dry-run-refused]')).toHaveAttribute('data-dry-run-refused', '0');
    await manager.getByRole('dialog').getByRole('textbox', { name: 'Reason' }).fill('Switch traffic to v2');
    await manager.getByRole('dialog').getByRole('button', { name: 'Publish' }).click();
    await expect(manager.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'published');
    await manager.goto(v('v1'));
    await expect(manager.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
    await manager.context().close();
    await admin.context().close();
  });

  test('every action works from the keyboard alone, and the dialog keeps focus inside', async ({ page }) => {
    await signIn(page, 'manager', v('v2'));
    await waitForHydration(page);
    const unpublish = page.getByRole('button', { name: 'Unpublish', exact: true });
    await unpublish.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    const reason = dialog.getByRole('textbox', { name: 'Reason' });
    await expect(reason).toBeFocused();
    // Tab cycles through the dialog's controls only.
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('link', { name: 'Cancel' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(dialog.getByRole('button', { name: 'Unpublish' })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(reason).toBeFocused();
    await page.keyboard.press('Shift+Tab');
    await expect(dialog.getByRole('button', { name: 'Unpublish' })).toBeFocused();
    // Escape cancels and gives focus back to the button.
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    await expect(unpublish).toBeFocused();

    // An empty reason is refused by the form, a blank one by the server.
    await page.keyboard.press('Enter');
    await expect(reason).toBeFocused();
    await page.keyboard.type('   ');
    await expect(dialog.getByText('3 / 1000 characters')).toBeVisible();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect(dialog.getByRole('alert')).toContainText('Reason');
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'published');
    await reason.focus();
    await page.keyboard.type('Back to v1 after the comparison');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect(dialog).toBeHidden();
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'started');
  });

  test('the action form works without the wasm: a plain form post and a redirect back', async ({ browser, baseURL }) => {
    const context = await browser.newContext({ javaScriptEnabled: false, baseURL });
    const page = await context.newPage();
    await signIn(page, 'manager', v('v2'));
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(page).toHaveURL(/\?action=stop$/);
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: 'Reason' }).fill('Comparison done');
    await dialog.getByRole('button', { name: 'Stop' }).click();
    await expect(page).toHaveURL(new RegExp(`${v('v2')}$`));
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', /stopping|stopped/);
    await context.close();
  });

  test('the release history says what served when; a version marked bad cannot be published until cleared; a rollback goes back', async ({ page, browser, baseURL, consoleProblems }) => {
    // By now v1 served, then v2 (which was unpublished): newest first.
    await signIn(page, 'viewer', '/runtimes');
    await page.getByRole('link', { name: 'Releases of demo' }).click();
    await expect(page).toHaveURL(/\/runtimes\/demo\/releases$/);
    const rows = page.locator('tr[data-release-version]');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0)).toHaveAttribute('data-release-version', 'v2');
    await expect(rows.nth(0)).toHaveAttribute('data-release-state', 'ended');
    await expect(rows.nth(1)).toContainText('superseded by v2');
    await expect(rows.nth(1)).toContainText('Fraud scoring 1.0 <b>takes</b> traffic');
    // What served when v2 started serving: v2.
    const started = await rows.nth(0).locator('time').getAttribute('datetime');
    await page.getByLabel('Serving at (UTC, RFC 3339)').fill(started ?? '');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect(page.locator('[data-serving-version]')).toHaveText('v2');
    // What changed from v1 to v2, field by field.
    await page.getByRole('link', { name: 'What changed in v2' }).click();
    await expect(page.locator('tr[data-diff-path="processes.score.image"]')).toHaveAttribute('data-diff-kind', 'changed');
    await expect(page.locator('tr[data-diff-path="processes.rules"]')).toHaveAttribute('data-diff-kind', 'added');

    const manager = await signedInPage(browser, baseURL, 'manager', v('v1'));
    await markBadPublishAndRollBack(manager);
    await manager.context().close();
    expect(consoleProblems).toEqual([]);
  });
});

async function markBadPublishAndRollBack(page: Page) {
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('Leaks memory under load');
    await page.getByRole('button', { name: 'Mark bad' }).click();
    await expect(page.locator('[data-version-bad="true"]')).toContainText('Leaks memory under load');
    const publish = page.getByRole('button', { name: 'Publish', exact: true });
    await expect(publish).toBeDisabled();
    await expect(publish).toHaveAccessibleDescription(/Marked bad/);
    await page.getByRole('textbox', { name: 'Reason', exact: true }).fill('Fixed by the new pool size');
    await page.getByRole('button', { name: 'Clear bad mark' }).click();
    await expect(page.locator('[data-version-bad="true"]')).toHaveCount(0);
    await act(page, 'Publish', 'Back on v1');
    await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'published');
    // The release opens when the Ingress points at v1, just after.
    await expect(page.locator('p[data-routing]')).toHaveAttribute('data-routing', 'serving');
    // The published version's screen offers the rollback too, after a reload
    // (the previous release is read with the page).
    await page.reload();
    await expect(page.locator('p.rollback')).toContainText('Publishes v2, the previous release, again.');
    await expect(page.getByRole('button', { name: 'Roll back', exact: true })).toBeVisible();
    await page.goto('/runtimes/demo/releases');
    await waitForHydration(page);
    const rows = page.locator('tr[data-release-version]');
    await expect(rows.first()).toHaveAttribute('data-release-state', 'serving');
    await expect(rows.first()).toHaveAttribute('data-release-version', 'v1');

    // v2 is stopped by now: the rollback starts it first and publishes it
    // once it is ready, as one operation.
    await page.getByRole('button', { name: 'Roll back', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText('Roll back demo to v2');
    await expect(dialog.locator('[data-rollback-stopped]')).toContainText('v2 is stopped');
    await expect(dialog.getByRole('checkbox', { name: /Start v2 first/ })).toBeChecked();
    await dialog.getByRole('textbox', { name: 'Reason' }).fill('v1 drops orders');
    await dialog.getByRole('button', { name: 'Roll back', exact: true }).click();
    await expect(dialog).toBeHidden();
    // The release opens when the leader has switched the Ingress, just after.
    await expect(async () => {
      await page.reload();
      await expect(rows.first()).toHaveAttribute('data-release-version', 'v2', { timeout: 1000 });
    }).toPass();
    await expect(rows.first()).toHaveAttribute('data-release-state', 'serving');
    await expect(rows.first()).toContainText('v1 drops orders');
}

test('a viewer sees every action disabled with the reason, and no /audit', async ({ page, consoleProblems }) => {
  await signIn(page, 'viewer', v('v1'));
  await waitForHydration(page);
  for (const action of ['Start', 'Stop', 'Publish', 'Unpublish']) {
    const button = page.getByRole('button', { name: action, exact: true });
    await expect(button).toBeDisabled();
    await expect(button).toHaveAccessibleDescription('Only managers and admins can register, start, stop, publish or unpublish versions.');
  }
  await expect(page.getByRole('heading', { name: 'Timeline' })).toHaveCount(0);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' })).toHaveCount(0);
  await page.goto('/runtimes');
  await expect(page.getByRole('heading', { name: 'Register a version' })).toHaveCount(0);
  expect(consoleProblems).toEqual([]);

  const response = await page.goto('/audit');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('alert')).toHaveText('Only managers and admins can read the audit log.');
  const exported = await page.request.get('/api/audit/export?format=csv');
  expect(exported.status()).toBe(403);
});

test('registering a version shows every manifest problem next to the input, keeps the text, then registers', async ({ page, consoleProblems }) => {
  await signIn(page, 'manager', '/runtimes');
  await waitForHydration(page);
  const manifest = page.getByRole('textbox', { name: 'Manifest' });
  const broken = 'name: v9\nentrypoint:\n  image: ""\n  port: 8080\nprocesses:\n  - name: a\n    image: img\n    inputs: [ghost]\n';
  await manifest.fill(broken);
  await page.getByRole('button', { name: 'Register version' }).click();
  const problems = page.locator('[data-field-errors] li');
  await expect(problems.first()).toBeVisible();
  await expect(page.locator('[data-field-errors]')).toContainText('entrypoint.image');
  await expect(page.locator('[data-field-errors]')).toContainText('processes[0].inputs');
  await expect(manifest).toHaveValue(broken);

  await manifest.fill('name: v9\ndescription: Registered from the browser\nentrypoint:\n  image: registry.example.com/gw:9\n  port: 8080\nprocesses:\n  - name: a\n    image: img\n    inputs: [entrypoint]\n');
  await page.getByRole('button', { name: 'Register version' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Registered v9' })).toBeVisible();
  await expect(page.locator('tr[data-version="v9"]')).toHaveAttribute('data-list-status', 'stopped');
  await page.locator('tr[data-version="v9"]').getByRole('link', { name: 'v9' }).click();
  await expect(page.locator('[data-node="a"]')).toHaveAttribute('data-status', 'stopped');
  // The refused registration answered 422, as it should; nothing else failed.
  expect(consoleProblems.filter((p) => !p.includes('422'))).toEqual([]);
});

test('/audit filters live in the URL, and the exports take the same filter', async ({ page, consoleProblems }) => {
  await signIn(page, 'admin', '/audit');
  await waitForHydration(page);
  await page.getByLabel('Action').selectOption('version.register');
  await page.getByLabel('Outcome').selectOption('accepted');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/action=version.register/);
  await expect(page).toHaveURL(/outcome=accepted/);
  const rows = page.locator('tr[data-audit-action]');
  await expect(rows.first()).toBeVisible();
  for (const action of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-audit-action')))) {
    expect(action).toBe('version.register');
  }

  // The shared link shows the same view on a fresh load.
  const shared = page.url();
  await page.goto(shared);
  await expect(page.getByLabel('Action')).toHaveValue('version.register');
  const count = await rows.count();
  expect(count).toBeGreaterThan(0);

  const csv = await page.request.get(await page.locator('[data-export="csv"]').getAttribute('href') ?? '');
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toContain('text/csv');
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]).toMatch(/^id,at,actor_kind/);
  expect(lines.length - 1).toBe(count);
  const json = await page.request.get(await page.locator('[data-export="json"]').getAttribute('href') ?? '');
  const entries = await json.json();
  expect(entries.length).toBe(count);
  expect(entries.every((e: { action: string }) => e.action === 'version.register')).toBe(true);

  // A filter the server cannot read is refused in words.
  await page.goto('/audit?from=yesterday');
  await expect(page.getByRole('alert')).toContainText('from:');
  expect(consoleProblems.filter((p) => !p.includes('422'))).toEqual([]);
});

test('the details screen is usable at 390 px wide', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, 'manager', v('v1'));
  await waitForHydration(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByRole('button', { name: 'Stop', exact: true })).toBeInViewport();
  await expect(page.locator('[data-node="score"]')).toBeVisible();
});

test('the live stream reconnects by itself when the server refuses it for a while', async ({ page, browser, baseURL }) => {
  // The first two connections are refused, as by a restarting server.
  let refused = 0;
  await page.route('**/api/live/**', async (route) => {
    if (refused < 2) {
      refused += 1;
      await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"restarting"}' });
    } else {
      await route.continue();
    }
  });
  await signIn(page, 'manager', v('broken'));
  await waitForHydration(page);
  await expect(page.locator('[data-live="reconnecting"]')).toBeAttached();
  await expect(page.locator('[data-live="live"]')).toBeAttached({ timeout: 20_000 });
  expect(refused).toBe(2);

  // A change made by someone else reaches the reconnected page.
  const admin = await signedInPage(browser, baseURL, 'admin', v('broken'));
  const before = await page.locator('[data-version-status]').getAttribute('data-version-status');
  const action = before === 'stopped' ? 'Start' : 'Stop';
  await act(admin, action, 'Checking that the other page follows');
  await expect(page.locator('[data-version-status]')).not.toHaveAttribute('data-version-status', before ?? '');
  // Leave it stopped for whoever comes next.
  if (action === 'Start') {
    await expect(admin.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'error');
    await act(admin, 'Stop', 'Done checking');
  }
  await expect(page.locator('[data-version-status]')).toHaveAttribute('data-version-status', 'stopped');
  await admin.context().close();
});
