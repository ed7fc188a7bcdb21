/** In test files: skip the suites that need a service the run's probe did not find (see services.ts). */
import { inject } from 'vitest';
import type { Service, ServiceStatus } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceStatus;
  }
}

/**
 * In a test file: true when one of `needs` did not answer the run's probe (skip those suites).
 * Outside the global setup (no probe ran) nothing is skipped.
 */
export function missing(...needs: Service[]): boolean {
  let status: ServiceStatus | undefined;
  try {
    status = inject('services');
  } catch {
    status = undefined;
  }
  if (!status) return false;
  return needs.some((s) => status[s] !== null);
}
