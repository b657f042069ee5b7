import { randomUUID } from 'node:crypto';
import { STAGE } from '../../shared/pins/pin-secret.ts';
import { PinSecretExistsError, type PinSecretInfo, type PinSecretValue, type PinVault } from '../../shared/pins/vault.ts';

interface Version {
  value?: string;
  stages: string[];
}

interface Secret {
  arn: string;
  rotationEnabled: boolean;
  versions: Map<string, Version>;
}

type Method = keyof PinVault;

/**
 * A PinVault with Secrets Manager's label rules, for unit tests: versions listed only while they carry a label (as
 * DescribeSecret's VersionIdsToStages), AWSPREVIOUS following AWSCURRENT, AWSPENDING on one version at a time, and
 * UpdateSecretVersionStage refusing to remove a label a version does not carry. `crashBefore` makes the next call of a
 * method throw before it changes anything (a crash or a failed AWS call).
 */
export class InMemoryPinVault implements PinVault {
  readonly #secrets = new Map<string, Secret>();
  readonly #crashes = new Map<Method, number>();
  /** Every call, by method name: tests check what was (not) done. */
  readonly calls: Method[] = [];

  /** A secret with one AWSCURRENT value. */
  seed(name: string, value: string, options: { rotationEnabled?: boolean } = {}): string {
    const versionId = randomUUID();
    this.#secrets.set(name, {
      arn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`,
      rotationEnabled: options.rotationEnabled ?? false,
      versions: new Map([[versionId, { value, stages: [STAGE.current] }]]),
    });
    return versionId;
  }

  /** What RotateSecret does before invoking createSecret: an empty version labelled AWSPENDING, rotation turned on. */
  startRotation(name: string, token: string): void {
    const secret = this.#secret(name);
    secret.rotationEnabled = true;
    this.#moveLabel(secret, STAGE.pending, token);
    secret.versions.set(token, { stages: [STAGE.pending] });
  }

  /** The value under a label, for assertions. */
  valueAt(name: string, stage: string): { versionId: string; value: string | undefined } | undefined {
    const entry = [...this.#secret(name).versions].find(([, version]) => version.stages.includes(stage));
    return entry ? { versionId: entry[0], value: entry[1].value } : undefined;
  }

  /** Every value ever stored, for secret scans. */
  allValues(): string[] {
    return [...this.#secrets.values()].flatMap((secret) => [...secret.versions.values()].flatMap((version) => (version.value === undefined ? [] : [version.value])));
  }

  crashBefore(method: Method, times = 1): void {
    this.#crashes.set(method, times);
  }

  async describe(secretId: string): Promise<PinSecretInfo | undefined> {
    this.#call('describe');
    const name = this.#nameOf(secretId);
    if (name === undefined) return undefined;
    const secret = this.#secrets.get(name)!;
    const stages = Object.fromEntries([...secret.versions].filter(([, version]) => version.stages.length > 0).map(([id, version]) => [id, [...version.stages]]));
    return { arn: secret.arn, name, rotationEnabled: secret.rotationEnabled, stages };
  }

  async read(secretId: string, versionId?: string): Promise<PinSecretValue | undefined> {
    this.#call('read');
    const secret = this.#secret(secretId);
    const entry = versionId === undefined ? [...secret.versions].find(([, version]) => version.stages.includes(STAGE.current)) : ([versionId, secret.versions.get(versionId)] as const);
    if (!entry || !entry[1] || entry[1].value === undefined) return undefined;
    return { versionId: entry[0], value: entry[1].value };
  }

  async create(name: string, value: string): Promise<string> {
    this.#call('create');
    if (this.#secrets.has(name)) throw new PinSecretExistsError(`the secret ${name} already exists`);
    return this.seed(name, value);
  }

  async putCurrent(secretId: string, value: string): Promise<string> {
    this.#call('putCurrent');
    const secret = this.#secret(secretId);
    const versionId = randomUUID();
    secret.versions.set(versionId, { value, stages: [] });
    const current = [...secret.versions].find(([, version]) => version.stages.includes(STAGE.current))![0];
    this.#moveCurrentLabel(secret, versionId, current);
    return versionId;
  }

  async putPending(secretId: string, versionId: string, value: string): Promise<void> {
    this.#call('putPending');
    const secret = this.#secret(secretId);
    const existing = secret.versions.get(versionId);
    if (existing?.value !== undefined && existing.value !== value) throw new Error(`ResourceExistsException: version ${versionId} holds another value`);
    this.#moveLabel(secret, STAGE.pending, versionId);
    secret.versions.set(versionId, { value, stages: existing?.stages.includes(STAGE.pending) ? existing.stages : [...(existing?.stages ?? []), STAGE.pending] });
  }

  async moveCurrent(secretId: string, toVersionId: string, fromVersionId: string): Promise<void> {
    this.#call('moveCurrent');
    const secret = this.#secret(secretId);
    if (!secret.versions.get(fromVersionId)?.stages.includes(STAGE.current)) throw new Error(`InvalidParameterException: AWSCURRENT is not on ${fromVersionId}`);
    if (!secret.versions.has(toVersionId)) throw new Error(`InvalidParameterException: no version ${toVersionId}`);
    this.#moveCurrentLabel(secret, toVersionId, fromVersionId);
  }

  async dropPending(secretId: string, versionId: string): Promise<void> {
    this.#call('dropPending');
    const version = this.#secret(secretId).versions.get(versionId);
    if (!version?.stages.includes(STAGE.pending)) throw new Error(`InvalidParameterException: AWSPENDING is not on ${versionId}`);
    version.stages = version.stages.filter((stage) => stage !== STAGE.pending);
  }

  #call(method: Method): void {
    this.calls.push(method);
    const left = this.#crashes.get(method) ?? 0;
    if (left > 0) {
      this.#crashes.set(method, left - 1);
      throw new Error(`simulated crash before ${method}`);
    }
  }

  #nameOf(secretId: string): string | undefined {
    if (this.#secrets.has(secretId)) return secretId;
    return [...this.#secrets].find(([, secret]) => secret.arn === secretId)?.[0];
  }

  #secret(secretId: string): Secret {
    const name = this.#nameOf(secretId);
    if (name === undefined) throw new Error(`ResourceNotFoundException: ${secretId}`);
    return this.#secrets.get(name)!;
  }

  #moveLabel(secret: Secret, stage: string, to: string): void {
    for (const version of secret.versions.values()) version.stages = version.stages.filter((label) => label !== stage);
    const target = secret.versions.get(to);
    if (target) target.stages.push(stage);
  }

  #moveCurrentLabel(secret: Secret, to: string, from: string): void {
    for (const version of secret.versions.values()) version.stages = version.stages.filter((label) => label !== STAGE.previous);
    const previous = secret.versions.get(from)!;
    previous.stages = [...previous.stages.filter((label) => label !== STAGE.current), STAGE.previous];
    const next = secret.versions.get(to)!;
    next.stages = [...next.stages.filter((label) => label !== STAGE.previous), STAGE.current];
  }
}
