import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `make bench`: the UI benchmark against the release build; writes bench/ui.md.
export default defineConfig({
  ...base,
  testDir: './bench',
  testMatch: '*.bench.ts',
  timeout: 600_000,
  outputDir: './test-results-bench',
});
