/**
 * Meta's answers to `request_code` and `verify_code`, in plain words: what happened and what to do next. Data only:
 * `verify` reads these rows and never restates them; docs/operations.md shows the same table.
 *
 * Keyed on `error.code` alone (never the HTTP status or Meta's message). The 1360xx codes are **uncertain**: Meta
 * documents no table for the verification endpoints, so their sentences say what is known and suggest the safe step
 * (never to ask for codes again and again, which only earns a throttle).
 */

/** Which call a sentence is about. */
export type VerificationStep = 'request' | 'confirm';

/** One row: the codes it covers, and per step what happened and the next step. */
interface VerificationErrorRow {
  codes: readonly number[];
  /** Also matches every code in this range (inclusive). */
  range?: readonly [number, number];
  /** What happened, as one sentence; `both` when it reads the same for either call. */
  sentence: { request: string; confirm: string } | { both: string };
  /** What to do next. */
  next: { request: string; confirm: string } | { both: string };
  /** Whether a code may still arrive, or the state may have changed: the error says nothing sure. */
  outcomeUnknown?: boolean;
}

const WAIT_AND_ASK = 'Wait a few minutes (a code may still arrive) before `wa-registrar verify request` again; asking repeatedly earns a throttle.';

/** The table. Rows are matched in order: first by code, then by range. */
export const VERIFICATION_ERROR_TABLE: readonly VerificationErrorRow[] = [
  {
    codes: [136025],
    sentence: {
      request: 'Meta refused the code request.',
      confirm: 'Meta did not accept the code: it is wrong, or it expired.',
    },
    next: {
      request: 'Check the phone number id, then try again; if it keeps failing, look at the number in WhatsApp Manager.',
      confirm: 'Check the digits the owner received and run `wa-registrar verify confirm` again; if the code is old, or a newer one was requested since, ask for a new one with `wa-registrar verify request`.',
    },
  },
  {
    codes: [136024],
    sentence: {
      request: 'Meta could not send a code to this number: codes were requested too often, or the number cannot receive this method.',
      confirm: 'Meta refused to check the code (request code error): no usable code was requested for this number.',
    },
    next: {
      request: 'Wait before asking again (Meta gives no time; an hour is a safe start), or try the other --method.',
      confirm: 'Ask for a new code with `wa-registrar verify request`, then confirm the newest code the owner received.',
    },
  },
  {
    codes: [133016],
    sentence: { both: 'Meta says the number used up its register/deregister attempts (blocked for about 72 hours).' },
    next: { both: 'Verification cannot lift that block: `wa-registrar status <phoneNumberId>` shows until when; verify again after it ends if Meta still asks.' },
  },
  {
    codes: [100],
    sentence: {
      request: 'Meta rejected a parameter: the method, the language, or the phone number id (it may not belong to the token\'s business).',
      confirm: 'Meta rejected a parameter: the code\'s form, or the phone number id (it may not belong to the token\'s business).',
    },
    next: {
      request: 'Check the phone number id and --language (a locale such as en_US), then try again.',
      confirm: 'Check the phone number id, and that a code was requested for it with `wa-registrar verify request`.',
    },
  },
  {
    codes: [190, 0],
    sentence: { both: 'Meta refused the access token (expired or revoked).' },
    next: { both: 'Store a valid token as a new version of the token secret (TOKEN_SECRET_ID), then run the same command again.' },
  },
  {
    codes: [4, 17, 32, 613, 80007, 80008],
    sentence: { both: 'Meta is throttling the app or the business account: it refused the call for now.' },
    next: { both: 'Wait until the throttle ends (at the time Meta gives, if any; else at least 15 minutes), then run the same command again.' },
  },
  {
    codes: [3, 10, 131005, 131031, 368, 33],
    range: [200, 299],
    sentence: { both: 'Meta refused for lack of permission: the token lacks whatsapp_business_management, or the account or number is locked, restricted or deleted.' },
    next: { both: 'Fix the permission or the account in Business Manager, then run the same command again.' },
  },
  {
    codes: [131000, 1, 2, 131016, 133004, 131057],
    sentence: {
      request: 'Meta reported a temporary problem; a code may or may not have been sent.',
      confirm: 'Meta reported a temporary problem, and the number does not read VERIFIED yet.',
    },
    next: {
      request: WAIT_AND_ASK,
      confirm: 'Run `wa-registrar verify confirm` again in a minute with the same code (it stays valid for a while).',
    },
    outcomeUnknown: true,
  },
];

/** Codes in no row. */
const UNKNOWN_ROW: VerificationErrorRow = {
  codes: [],
  sentence: { both: 'Meta answered with an error wa-registrar has no words for.' },
  next: { both: 'Read Meta\'s message and fbtrace_id (shown with the error); ask Meta support, quoting the fbtrace_id, if it is not clear.' },
};

/** No answer at all (timeout, network, 5xx, an unreadable body): whether Meta acted is unknown. */
const NO_ANSWER = {
  request: { sentence: 'Meta did not answer; a code may or may not have been sent.', next: WAIT_AND_ASK },
  confirm: {
    sentence: 'Meta did not answer, and the number does not read VERIFIED; the code may or may not have been checked.',
    next: 'Run `wa-registrar verify confirm` again with the same code in a minute; if Meta keeps failing to answer, check its status page.',
  },
} as const;

/** A sentence and its next step. */
export interface Explanation {
  sentence: string;
  next: string;
  outcomeUnknown: boolean;
}

/** The row's words for a Meta error code on this step. */
export function explainVerificationError(code: number, step: VerificationStep): Explanation {
  const row =
    VERIFICATION_ERROR_TABLE.find((entry) => entry.codes.includes(code)) ??
    VERIFICATION_ERROR_TABLE.find((entry) => entry.range !== undefined && code >= entry.range[0] && code <= entry.range[1]) ??
    UNKNOWN_ROW;
  const pick = (text: VerificationErrorRow['sentence']) => ('both' in text ? text.both : text[step]);
  return { sentence: pick(row.sentence), next: pick(row.next), outcomeUnknown: row.outcomeUnknown ?? false };
}

/** The words for a call that got no usable answer. */
export function explainNoAnswer(step: VerificationStep): Explanation {
  return { ...NO_ANSWER[step], outcomeUnknown: true };
}

/** The table as docs/operations.md shows it (a test keeps the two equal). */
export function renderVerificationErrorTable(): string {
  const cell = (code: number, step: VerificationStep) => {
    const { sentence, next } = explainVerificationError(code, step);
    return `${sentence} ${next}`.replaceAll('|', '\\|');
  };
  const rows = [...VERIFICATION_ERROR_TABLE, UNKNOWN_ROW].map((row) => {
    const first = row.codes[0] ?? row.range?.[0] ?? -1;
    const codes = [...row.codes.map(String), ...(row.range ? [`${row.range[0]}–${row.range[1]}`] : [])].join(', ') || 'any other';
    return `| ${codes} | ${cell(first, 'request')} | ${cell(first, 'confirm')} |`;
  });
  const none = `| no answer (timeout, network, 5xx) | ${explainNoAnswer('request').sentence} ${explainNoAnswer('request').next} | ${explainNoAnswer('confirm').sentence} ${explainNoAnswer('confirm').next} |`;
  return ['| Meta error | On `verify request` | On `verify confirm` |', '|---|---|---|', ...rows, none].join('\n');
}
