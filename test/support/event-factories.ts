import { createHash, randomUUID } from 'node:crypto';
import type { AccountUpdated, EventDetailType, PhoneNumberNameUpdated, PinEvent, ReRegistrationRequested } from '../../shared/events/registrar-events.v1.ts';

/** Fake ids and times for the events path's tests. */
export const WABA = '102290129340398';
export const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
export const iso = (ms: number) => new Date(ms).toISOString();

/** A change id as the receiver makes them (sha256 hex), from a seed. */
export const changeIdOf = (seed: string) => createHash('sha256').update(seed).digest('hex');

export function nameUpdated(overrides: Partial<PhoneNumberNameUpdated> = {}): PhoneNumberNameUpdated {
  return {
    schemaVersion: 1,
    businessAccountId: WABA,
    occurredAt: iso(T0),
    changeId: changeIdOf(`name-${overrides.occurredAt ?? T0}-${overrides.decision ?? 'APPROVED'}`),
    displayPhoneNumber: '15550783881',
    decision: 'APPROVED',
    requestedVerifiedName: 'Acme Support',
    rejectionReason: null,
    ...overrides,
  };
}

export function pinEvent(overrides: Partial<PinEvent> = {}): PinEvent {
  return {
    schemaVersion: 1,
    businessAccountId: WABA,
    occurredAt: iso(T0),
    changeId: changeIdOf(`pin-${overrides.occurredAt ?? T0}`),
    displayPhoneNumber: '15550783881',
    event: 'PIN_CHANGED',
    requester: '123456789',
    ...overrides,
  };
}

export function accountUpdated(overrides: Partial<AccountUpdated> = {}): AccountUpdated {
  return {
    schemaVersion: 1,
    businessAccountId: WABA,
    occurredAt: iso(T0),
    changeId: changeIdOf(`account-${overrides.occurredAt ?? T0}-${overrides.event ?? 'ACCOUNT_RESTRICTION'}-${overrides.restrictions?.length ?? 1}`),
    event: 'ACCOUNT_RESTRICTION',
    restrictions: [{ type: 'RESTRICTED_ADD_PHONE_NUMBER_ACTION' }],
    ...overrides,
  };
}

export function reRegistration(overrides: Partial<ReRegistrationRequested> = {}): ReRegistrationRequested {
  return { schemaVersion: 1, phoneNumberId: '106540352242922', requestId: 'crm-4711', reason: 'manual', ...overrides };
}

/** The SQS body of an EventBridge event, as a queue target delivers it. */
export function bridgeBody(detailType: EventDetailType, detail: object): string {
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'wa-registrar',
    account: '123456789012',
    time: new Date(T0).toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail,
  });
}
