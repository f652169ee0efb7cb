import { test as base, expect, type ConsoleMessage, type Page } from '@playwright/test';

type Fixtures = {
  /** Console errors and warnings (hydration mismatches among them) seen by the page. */
  consoleProblems: string[];
};

export const test = base.extend<Fixtures>({
  baseURL: async ({}, use) => {
    const url = process.env.CONSOLE_BASE_URL;
    if (!url) throw new Error('CONSOLE_BASE_URL is not set: global setup did not start the server');
    await use(url);
  },
  consoleProblems: async ({ page }, use) => {
    const problems: string[] = [];
    page.on('console', (msg: ConsoleMessage) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('response', (res) => {
      if (res.status() >= 400 && res.request().resourceType() !== 'document') {
        problems.push(`HTTP ${res.status()} for ${res.url()}`);
      }
    });
    await use(problems);
  },
});

/** The demo users global setup seeds (`--demo`). */
export const DEMO_PASSWORD = process.env.CONSOLE_DEMO_PASSWORD ?? 'demo-password';
export type DemoRole = 'admin' | 'manager' | 'viewer';

/** Signs in through the login form and waits to land on `next` (or /). */
export async function signIn(page: Page, role: DemoRole, next = '/') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(`${role}@example.com`);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL((url) => url.pathname === next.split('?')[0]);
  await expect(page.locator('[data-user-email]')).toHaveText(`${role}@example.com`);
}

/** Waits until the wasm bundle has hydrated the server-rendered page. */
export async function waitForHydration(page: Page) {
  await expect(page.locator('[data-hydrated="true"]')).toBeAttached();
}

export { expect };
