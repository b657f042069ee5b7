import { describe, expect, it } from 'vitest';
import { policyForCode } from '../../shared/graph/error-codes.ts';

describe('Meta error code playbook, row by row', () => {
  it('never retries 133016: block and dead-letter as rate_limited', () => {
    expect(policyForCode(133016)).toMatchObject({ action: 'block', category: 'rate_limited' });
  });

  it.each([133005, 100, 131008, 131009, 190, 0, 3, 10, 131005, 131031, 368, 33, 200, 250, 299])(
    'dead-letters %i as permanent_error',
    (code) => expect(policyForCode(code)).toMatchObject({ action: 'dead_letter', category: 'permanent_error' }),
  );

  it.each([133008, 133009])('parks %i as rate_limited for at least 12 hours', (code) => {
    const policy = policyForCode(code);
    expect(policy).toMatchObject({ action: 'dead_letter', category: 'rate_limited' });
    expect(policy.action === 'dead_letter' && policy.parkSeconds).toBeGreaterThanOrEqual(12 * 3600);
  });

  it('sends 133006 to a person as needs_verification', () => {
    expect(policyForCode(133006)).toMatchObject({ action: 'dead_letter', category: 'needs_verification' });
  });

  it.each([131000, 1, 2, 133004, 131016])('retries %i after checking the state first', (code) => {
    expect(policyForCode(code)).toMatchObject({ action: 'retry', kind: 'transient', checkStateFirst: true });
  });

  it.each([4, 17, 32, 613, 80007, 80008])('waits out throttle %i for at least 15 minutes', (code) => {
    expect(policyForCode(code)).toMatchObject({ action: 'retry', kind: 'throttled', minDelaySeconds: 900 });
  });

  it('waits at least 5 minutes on 133015 and on 131057', () => {
    expect(policyForCode(133015)).toMatchObject({ action: 'retry', minDelaySeconds: 300 });
    expect(policyForCode(131057)).toMatchObject({ action: 'retry', minDelaySeconds: 300 });
  });

  it('repairs 133000 and treats 133010 as done only for a deregister', () => {
    expect(policyForCode(133000).action).toBe('repair');
    expect(policyForCode(133010).action).toBe('goal_reached_if_deregister');
  });

  it('treats an unknown code as permanent, naming the code', () => {
    const policy = policyForCode(987654);
    expect(policy).toMatchObject({ action: 'dead_letter', category: 'permanent_error' });
    expect(policy.action === 'dead_letter' && policy.hint).toContain('987654');
  });
});
