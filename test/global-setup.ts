/**
 * Runs once per `vitest run`, before any test file: probes PostgreSQL, Redis and Chromium
 * (test/helpers/services.ts) and hands the result to the test files (`missing()` in
 * test/helpers/needs.ts). What was skipped, and what to install, is said once, at the end of the
 * run. With APG_REQUIRE_ALL=1 (.ci/run) a missing service fails the run before any test starts.
 */
import type { TestProject } from 'vitest/node';
import { probeAll, requireAll, servicesReport } from './helpers/services.js';

export default async function setup(project: TestProject): Promise<() => void> {
  const status = await probeAll();
  const report = servicesReport(status, requireAll());
  if (report?.fail) throw new Error(report.text);
  project.provide('services', status);
  return () => {
    if (report) process.stdout.write(`\n${report.text}\n\n`);
  };
}
