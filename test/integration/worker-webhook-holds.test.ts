import { describe, expect, it } from 'vitest';
import { HOUR_MS, MINUTE_MS } from '../../shared/clock.ts';
import type { NumberHold } from '../../shared/ledger/port.ts';
import { updateNumber } from '../support/ops-helpers.ts';
import { useWorkerHarness } from '../support/worker-harness.ts';

/**
 * What the webhooks put on the ledger, as the worker obeys it: a PIN changed elsewhere, a restricted business
 * account, a per-business throttle and a name approval already met. Each test fails without its guard.
 */
const NUMBER = '15550783881';
const PIN = '012345';
const NEW_PIN = '482913';
const WABA = '102290129340398';
const OTHER_WABA = '102290129340399';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the worker obeys what the webhooks recorded', () => {
  const h = useWorkerHarness(NUMBER, PIN);
  const ledger = () => h.worker.deps.ledger;

  it('PinChanged holds register jobs (nothing sent) until a PIN version stored after the change; then the job registers', async () => {
    // Prepare: Meta says the PIN changed after the stored PIN version was written (moto dates versions to the second).
    await sleep(1100);
    const hold: NumberHold = { cause: 'pin_changed', since: Date.now(), detail: 'PIN_CHANGED (requester 1234)' };
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, hold }));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'after-pin-change' });
    // Act
    await h.source.drain();
    // Assess: held, nothing sent; the envelope names the hold
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    const [dead] = await h.takeDeadLetters();
    expect(dead).toMatchObject({ category: 'pin_changed', hold: { cause: 'pin_changed' } });
    expect((await ledger().number(NUMBER)).hold?.cause).toBe('pin_changed');

    // Act: the operator stores the number's current PIN (a version newer than the change), and the job goes back.
    await sleep(1100);
    h.simulator.number(NUMBER)!.pin = NEW_PIN;
    await h.storePin(NUMBER, NEW_PIN);
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'account_creation', idempotencyKey: 'after-new-pin' });
    await h.source.drain();
    // Assess: one register, with the new PIN; the hold is lifted by that write
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['registered']);
    expect((await ledger().number(NUMBER)).hold).toBeUndefined();
  });

  it('an account hold stops every job of the number (register and deregister), nothing sent, until lifted', async () => {
    // Prepare
    h.simulator.addNumber(NUMBER, { pin: PIN, registered: true });
    const accountHold: NumberHold = { cause: 'account_restricted', since: h.clock.now() - HOUR_MS, businessAccountId: WABA, detail: 'ACCOUNT_RESTRICTION' };
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, businessAccountId: WABA, accountHold }));
    await h.enqueue({ action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'held-deregister' });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'held-register' });
    // Act
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    const dead = await h.takeDeadLetters();
    expect(dead.map((envelope) => [envelope.jobKey, envelope.category, envelope.hold?.cause])).toEqual([
      ['held-deregister', 'account_restricted', 'account_restricted'],
      ['held-register', 'account_restricted', 'account_restricted'],
    ]);
    // Act: a later update lifts it; the same deregister, sent again, now runs
    await updateNumber(ledger(), NUMBER, ({ accountHold: _lifted, ...number }) => number);
    await h.enqueue({ action: 'deregister', phoneNumberId: NUMBER, idempotencyKey: 'after-lift' });
    await h.source.drain();
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['deregistered']);
  });

  it("a throttle on one business leaves another business's numbers alone; a number of unknown business waits", async () => {
    // Prepare: Meta throttled OTHER_WABA for an hour; the number belongs to WABA
    const other = '15550783882';
    const unknown = '15550783883';
    for (const id of [other, unknown]) {
      h.simulator.addNumber(id, { pin: PIN });
      await h.storePin(id, PIN);
    }
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, businessAccountId: WABA }));
    await updateNumber(ledger(), other, (number) => ({ ...number, businessAccountId: OTHER_WABA }));
    const app = await ledger().appGates();
    const throttled = { ...app, businessThrottles: { [OTHER_WABA]: h.clock.now() + HOUR_MS }, version: app.version + 1 };
    expect(await ledger().commit({ phoneNumberId: '0', app: throttled, expiresAt: { number: 0, job: 0, attempt: 0 } }, 'throttle-other')).toBe('committed');
    // Act
    for (const id of [NUMBER, other, unknown]) await h.enqueue({ action: 'register', phoneNumberId: id, idempotencyKey: `throttle-${id}` });
    await h.source.drain();
    // Assess: only WABA's number was sent; the others wait on the queue (no dead letter, nothing sent)
    expect(h.simulator.limitedCalls().map((call) => call.phoneNumberId)).toEqual([NUMBER]);
    expect(h.outcomes.filter((outcome) => outcome.status === 'wait').map((outcome) => outcome.phoneNumberId).sort()).toEqual([other, unknown].sort());
    expect(await h.takeDeadLetters()).toEqual([]);
  });

  it("Meta's throttle naming a business in its usage header holds that business's numbers only", async () => {
    // Prepare: NUMBER (WABA) is answered 80008 with a usage header naming WABA; `other` belongs to OTHER_WABA
    const other = '15550783882';
    h.simulator.addNumber(other, { pin: PIN });
    await h.storePin(other, PIN);
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, businessAccountId: WABA }));
    await updateNumber(ledger(), other, (number) => ({ ...number, businessAccountId: OTHER_WABA }));
    const usage = { [WABA]: [{ type: 'whatsapp_business_management', call_count: 100, total_cputime: 4, total_time: 6, estimated_time_to_regain_access: 20 }] };
    h.simulator.inject(NUMBER, { type: 'graph_error', code: 80008, httpStatus: 400, headers: { 'X-Business-Use-Case-Usage': JSON.stringify(usage) } });
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, idempotencyKey: 'throttled-first' });
    await h.source.drain();
    // Act: one more job for each business
    await h.enqueue({ action: 'register', phoneNumberId: other, idempotencyKey: 'other-business' });
    await h.source.drain();
    // Assess: the throttle is WABA's, not the app's; the other business's number registered
    const app = await ledger().appGates();
    expect(app.throttledUntil).toBeUndefined();
    expect(app.businessThrottles?.[WABA]).toBe(h.clock.now() + 20 * MINUTE_MS);
    expect(h.simulator.limitedCalls().map((call) => `${call.phoneNumberId}:${call.answeredWith}`)).toEqual([`${NUMBER}:error 80008`, `${other}:registered`]);
  });

  it('a name_change job for an approval a register already followed sends nothing; a newer approval re-registers', async () => {
    // Prepare: connected, approved an hour ago, registered 30 min ago
    h.simulator.addNumber(NUMBER, { pin: PIN, registered: true });
    const approvedAt = h.clock.now() - HOUR_MS;
    const nameApproval = { approvedAt, deadline: approvedAt + 14 * 24 * HOUR_MS, changeId: 'a'.repeat(64) };
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, nameApproval, lastSuccess: { operation: 'register', at: h.clock.now() - 30 * MINUTE_MS } }));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'approval-met' });
    // Act
    await h.source.drain();
    // Assess
    expect(h.simulator.limitedCalls(NUMBER)).toEqual([]);
    expect(h.outcomes.at(-1)).toMatchObject({ status: 'completed' });
    // Act: a newer approval (after the last register) needs its re-register
    await updateNumber(ledger(), NUMBER, (number) => ({ ...number, nameApproval: { ...nameApproval, approvedAt: h.clock.now() - MINUTE_MS } }));
    await h.enqueue({ action: 'register', phoneNumberId: NUMBER, reason: 'name_change', idempotencyKey: 'approval-new' });
    await h.source.drain();
    expect(h.simulator.limitedCalls(NUMBER).map((call) => call.answeredWith)).toEqual(['registered']);
  });
});
