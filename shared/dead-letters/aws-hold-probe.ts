import { ListSecretVersionIdsCommand, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AttemptLedger } from '../ledger/port.ts';
import { tokenGateOf } from '../domain/token-gates.ts';
import type { HoldFacts, HoldProbe } from './hold-probe.ts';

export interface AwsHoldProbeOptions {
  /** The token secret's name; without it a token hold can only be seen cleared, not lifted by a new version. */
  tokenSecretId?: string;
  /** PIN secrets are named prefix + phoneNumberId. */
  pinSecretPrefix?: string;
  /** A business's own token is prefix + its WABA id. */
  tokenSecretPrefix?: string;
}

/**
 * The hold probe on AWS: the ledger for holds and gates, Secrets Manager's ListSecretVersionIds for the version
 * staged AWSCURRENT and when it was stored. It returns metadata only: no secret value is read, so the caller needs
 * no GetSecretValue permission.
 */
export class AwsHoldProbe implements HoldProbe {
  readonly #ledger: AttemptLedger;
  readonly #secrets: SecretsManagerClient;
  readonly #options: AwsHoldProbeOptions;

  constructor(ledger: AttemptLedger, secrets: SecretsManagerClient, options: AwsHoldProbeOptions) {
    this.#ledger = ledger;
    this.#secrets = secrets;
    this.#options = options;
  }

  async facts(hold: { cause: string; phoneNumberId: string; businessAccountId?: string }): Promise<HoldFacts> {
    if (hold.cause === 'needs_verification' || hold.cause === 'account_restricted') {
      const number = await this.#ledger.number(hold.phoneNumberId);
      return { ...(number.hold ? { numberHold: number.hold } : {}), ...(number.accountHold ? { accountHold: number.accountHold } : {}) };
    }
    if (hold.cause === 'token_rejected') {
      const business = hold.businessAccountId;
      const prefix = this.#options.tokenSecretPrefix;
      const secretId = business === undefined ? this.#options.tokenSecretId : prefix === undefined ? undefined : `${prefix}${business}`;
      const [app, version] = await Promise.all([this.#ledger.appGates(), this.#currentVersion(secretId, business === undefined ? 'the token secret id' : 'the token secret prefix')]);
      const gate = tokenGateOf(app, business);
      return { ...(gate ? { tokenGate: gate } : {}), ...version };
    }
    const prefix = this.#options.pinSecretPrefix;
    const [number, version] = await Promise.all([
      this.#ledger.number(hold.phoneNumberId),
      this.#currentVersion(prefix === undefined ? undefined : `${prefix}${hold.phoneNumberId}`, 'the PIN secret prefix'),
    ]);
    return { ...(number.hold ? { numberHold: number.hold } : {}), ...version };
  }

  async #currentVersion(secretId: string | undefined, what: string): Promise<Pick<HoldFacts, 'secretVersion' | 'secretProblem' | 'secretCreatedAt'>> {
    if (secretId === undefined) return { secretProblem: `${what} is not known here` };
    try {
      const versions = [];
      let nextToken: string | undefined;
      do {
        const page = await this.#secrets.send(new ListSecretVersionIdsCommand({ SecretId: secretId, NextToken: nextToken }));
        versions.push(...(page.Versions ?? []));
        nextToken = page.NextToken;
      } while (nextToken);
      const current = versions.find((version) => version.VersionStages?.includes('AWSCURRENT'));
      if (current?.VersionId === undefined) return { secretProblem: 'no version is staged AWSCURRENT' };
      const createdAt = current.CreatedDate?.getTime();
      return { secretVersion: current.VersionId, ...(createdAt === undefined ? {} : { secretCreatedAt: createdAt }) };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { secretProblem: 'the secret does not exist' };
      throw error;
    }
  }
}
