import { expect } from 'vitest';

/** Fails if any captured text contains one of the secrets (PINs, tokens). */
export function expectNoSecrets(captured: string[], secrets: string[]): void {
  for (const secret of secrets) {
    const leaks = captured.filter((text) => text.includes(secret));
    expect(leaks, `secret leaked into captured output`).toEqual([]);
  }
}
