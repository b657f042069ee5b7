import type { AppGates, TokenGate } from '../ledger/port.ts';

/**
 * The gate of one token: the default token's (`scope` undefined), or the gate of a business's own token. Each
 * business with its own token has its own gate, so a token revoked for one business stops only that business.
 */
export function tokenGateOf(app: Pick<AppGates, 'tokenGate' | 'businessTokenGates'>, scope: string | undefined): TokenGate | undefined {
  return scope === undefined ? app.tokenGate : app.businessTokenGates?.[scope];
}

/** The app item with one token's gate closed (`gate`) or opened (undefined). */
export function withTokenGate(app: AppGates, scope: string | undefined, gate: TokenGate | undefined): AppGates {
  if (scope === undefined) {
    const { tokenGate: _old, ...rest } = app;
    return gate ? { ...rest, tokenGate: gate } : rest;
  }
  const { [scope]: _old, ...others } = app.businessTokenGates ?? {};
  const gates = gate ? { ...others, [scope]: gate } : others;
  const { businessTokenGates: _all, ...rest } = app;
  return Object.keys(gates).length > 0 ? { ...rest, businessTokenGates: gates } : rest;
}
