import { randomInt } from 'node:crypto';
import type { SimulatedFault } from './graph-simulator-faults.ts';

/**
 * The Graph simulator's number-lifecycle routes besides register and deregister (reference §1 and §8): setting the
 * two-step PIN (`POST /{id}` `{"pin"}`), requesting and checking a verification code (`POST /{id}/request_code`,
 * `POST /{id}/verify_code`), and the register that migrates a number from the On-Premises API (`backup`).
 * graph-simulator.ts routes to these; they share its token check, call log and latency, and have their own fault queue.
 * Only registers count against the 10-per-72-hour window, so a migration does and the three routes here do not.
 *
 * Secrets stay out of the call log: the router digests a set-PIN body's `pin` as it does a register's, the code
 * travels in the query string, which the log does not record (a `code` in a body is digested), and a backup password
 * is logged and kept only as a digest.
 */

/** The lifecycle routes, as the call log names them. */
export type LifecycleOperation = 'set_pin' | 'request_code' | 'verify_code';

/** A simulated number's lifecycle fields (graph-simulator.ts's number extends these). */
export interface NumberLifecycleFields {
  /**
   * Whether `POST /{id}` `{"pin"}` replaces a PIN that is already set with nothing else asked (default true). Meta's
   * pages disagree on this (reference §1). When false, changing a set PIN answers 133005 and keeps the old one;
   * setting the first PIN, or the same PIN again, still succeeds.
   */
  pinChangeNeedsNothing?: boolean;
  /** ON_PREMISE: on the On-Premises API until a migration register moves it to Cloud API. Absent: as `registered` says. */
  platformType?: 'ON_PREMISE';
  /** An On-Premises number whose client is down (reads DISCONNECTED): while a migration runs, and after one refused the PIN. */
  onPremiseDown?: boolean;
  /** Digest (`simulatorDigest`) of the On-Premises backup's password; `addNumber` takes the password as `backupPassword`. */
  backupPasswordDigest?: string;
  /** The code the last `request_code` sent and no `verify_code` has used yet: what the number's owner received. */
  verificationCode?: string;
  /** Scripted answers for the number's next set_pin, request_code and verify_code requests; one each, in order. */
  lifecycleFaults: SimulatedFault[];
}

/** Lifecycle fields the simulator keeps for itself; `addNumber` does not take them. */
export type LifecycleInternalField = 'backupPasswordDigest' | 'verificationCode' | 'lifecycleFaults';

/** What `addNumber` takes besides the number's fields. */
export interface LifecycleSettings {
  /** The password of the number's On-Premises backup (with `platformType: 'ON_PREMISE'`); only its digest is kept. */
  backupPassword?: string;
}

/** The parts of a simulated number these routes read and change. */
interface LifecycleNumber extends NumberLifecycleFields {
  pin?: string;
  registered: boolean;
  codeVerificationStatus: 'VERIFIED' | 'NOT_VERIFIED' | 'EXPIRED';
}

/** An answer before it is sent: HTTP status, JSON payload, and the call log's note. */
export interface RouteResult {
  status: number;
  payload: unknown;
  note: string;
}

interface LifecycleDeps {
  /** The call log's digest (`simulatorDigest`): how a backup password is kept. */
  digest: (value: string) => string;
  /** Graph's error JSON for a code; the message from the simulator's table unless one is given. */
  graphError: (code: number, details?: string, message?: string) => unknown;
  /** Extra milliseconds a migration register takes (Meta: about 15 s). */
  migrationLatencyMs: number;
}

/** Messages of the lifecycle routes' own codes, as Meta's reference names them; the simulator's table includes them. */
export const LIFECYCLE_MESSAGES: Record<number, string> = {
  136024: '(#136024) Request code error',
  136025: '(#136025) Verify code error',
};

/** Which lifecycle route a request is, if any: `POST /{id}`, `POST /{id}/request_code`, `POST /{id}/verify_code`. */
export function lifecycleOperation(method: string | undefined, operationPath: string | undefined): LifecycleOperation | undefined {
  if (method !== 'POST') return undefined;
  if (operationPath === undefined) return 'set_pin';
  return operationPath === 'request_code' || operationPath === 'verify_code' ? operationPath : undefined;
}

/** Whether the call log's operation is one of these routes. */
export function isLifecycleOperation(operation: string): operation is LifecycleOperation {
  return operation === 'set_pin' || operation === 'request_code' || operation === 'verify_code';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The routes, bound to the simulator's error format, digest and migration latency. */
export function createNumberLifecycle(deps: LifecycleDeps) {
  const ok = (note: string): RouteResult => ({ status: 200, payload: { success: true }, note });
  const fail = (code: number, details?: string, message?: string): RouteResult => ({ status: 400, payload: deps.graphError(code, details, message), note: `error ${code}` });

  function setPin(number: LifecycleNumber, body: unknown): RouteResult {
    if (!isObject(body) || !('pin' in body)) return fail(100, undefined, '(#100) The parameter pin is required.');
    const pin = body.pin;
    if (typeof pin !== 'string' || !/^\d{6}$/.test(pin)) return fail(100, undefined, '(#100) Param pin must be a 6-digit string.');
    if (number.pin !== undefined && number.pin !== pin && number.pinChangeNeedsNothing === false) {
      return fail(133005, 'Two-step verification is on: the PIN can only be changed in WhatsApp Manager.');
    }
    number.pin = pin;
    return ok('pin set');
  }

  function requestCode(number: LifecycleNumber, url: URL): RouteResult {
    const method = url.searchParams.get('code_method');
    if (method !== 'SMS' && method !== 'VOICE') return fail(100, undefined, '(#100) Param code_method must be one of {SMS, VOICE}.');
    const language = url.searchParams.get('language');
    if (language === null || !/^[a-z]{2,3}(_[A-Z]{2})?$/.test(language)) return fail(100, undefined, '(#100) Param language must be a locale such as en_US.');
    // A new code replaces any earlier one, as a new SMS would.
    number.verificationCode = String(randomInt(1_000_000)).padStart(6, '0');
    return ok(`code sent (${method})`);
  }

  function verifyCode(number: LifecycleNumber, url: URL): RouteResult {
    const code = url.searchParams.get('code');
    if (code === null || !/^\d{1,12}$/.test(code)) return fail(100, undefined, '(#100) Param code must be digits.');
    // Meta's reference lists 136025 and 100 for verify_code; with no code sent there is nothing to match, so 136025.
    if (number.verificationCode === undefined) return fail(136025, 'No verification code was requested for this number.');
    // Neither text names the code: a caller may log Meta's error.
    if (code !== number.verificationCode) return fail(136025, 'The verification code does not match.');
    delete number.verificationCode; // One use per code.
    number.codeVerificationStatus = 'VERIFIED';
    return ok('verified');
  }

  return {
    /** The lifecycle fields of a number being added. */
    initial(backupPassword: string | undefined): Pick<NumberLifecycleFields, 'lifecycleFaults' | 'backupPasswordDigest'> {
      return { lifecycleFaults: [], ...(backupPassword !== undefined ? { backupPasswordDigest: deps.digest(backupPassword) } : {}) };
    },

    /** `status` and `platform_type` as a state read shows them. */
    platform(number: LifecycleNumber): { status: string; platform_type: string } {
      if (number.platformType === 'ON_PREMISE') return { status: number.onPremiseDown ? 'DISCONNECTED' : 'CONNECTED', platform_type: 'ON_PREMISE' };
      return { status: number.registered ? 'CONNECTED' : 'DISCONNECTED', platform_type: number.registered ? 'CLOUD_API' : 'NOT_APPLICABLE' };
    },

    /** Applies a set_pin, request_code or verify_code request. */
    apply(number: LifecycleNumber, operation: LifecycleOperation, url: URL, body: unknown): RouteResult {
      if (operation === 'set_pin') return setPin(number, body);
      return operation === 'request_code' ? requestCode(number, url) : verifyCode(number, url);
    },

    /**
     * A register, around the simulator's own (`register`: its checks and effects, PIN included). Without a `backup` and
     * off On-Premises it is just that. An On-Premises number needs a backup whose password matches (checked first:
     * 100 otherwise, nothing changes); then the register's checks run, and a wrong PIN (133005) leaves the On-Prem
     * client down (reference §8). Success takes `migrationLatencyMs` more, during which the number reads ON_PREMISE +
     * DISCONNECTED, and ends on CLOUD_API + CONNECTED. A backup for a number not on On-Premises is refused (100).
     */
    async register(number: LifecycleNumber, body: unknown, register: () => RouteResult): Promise<RouteResult> {
      const backup = isObject(body) ? body.backup : undefined;
      const onPremise = number.platformType === 'ON_PREMISE';
      if (backup === undefined && !onPremise) return register();
      if (backup === undefined) return fail(100, undefined, '(#100) Param backup is required to register a number on the On-Premises API.');
      if (!isObject(backup) || typeof backup.data !== 'string' || typeof backup.password !== 'string') {
        return fail(100, undefined, '(#100) Param backup must be an object with data and password strings.');
      }
      if (!onPremise) return fail(100, undefined, '(#100) Param backup is only for a number migrating from the On-Premises API.');
      if (number.backupPasswordDigest === undefined || deps.digest(backup.password) !== number.backupPasswordDigest) {
        return fail(100, 'The backup cannot be decrypted with this password.');
      }
      const result = register();
      if (result.status !== 200) {
        if ((result.payload as { error?: { code?: unknown } }).error?.code === 133005) number.onPremiseDown = true;
        return result;
      }
      number.onPremiseDown = true; // On-Prem is disconnected while the migration runs.
      if (deps.migrationLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, deps.migrationLatencyMs));
      delete number.platformType;
      delete number.onPremiseDown;
      return { ...result, note: 'migrated to CLOUD_API' };
    },
  };
}
