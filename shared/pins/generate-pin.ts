import { randomInt } from 'node:crypto';

/** A two-step PIN: exactly six digits, as a string (a leading zero is a digit like any other). */
const PIN_PATTERN = /^\d{6}$/;

/** How many PINs there are: 000000 to 999999. */
const PIN_SPACE = 1_000_000;

/**
 * PINs people pick, beyond the shapes {@link isTrivialPin} refuses by rule (one digit repeated, runs, a pair or a
 * triple repeated): keypad lines and columns, mirrored runs, doubled digits. A generated PIN is never one of them.
 */
const COMMON_PINS: ReadonlySet<string> = new Set([
  '112233', '111222', '123321', '321123', '112358', '159753', '159357', '147258', '147852', '258369', '258456',
  '369258', '741852', '789456', '789654', '963852', '852456', '520520', '102030', '100200', '101101', '110011',
]);

/**
 * Whether `pin` is a PIN nobody should be given: not six digits at all, one digit six times (`000000`), a run up or
 * down (`012345`, `123456`, `987654`), a pair or a triple repeated (`121212`, `123123`), or one of a short list of
 * common PINs. A person who learns nothing else about a number should not guess its PIN in a few tries.
 */
export function isTrivialPin(pin: string): boolean {
  if (!PIN_PATTERN.test(pin)) return true;
  const digits = [...pin].map(Number);
  const steps = digits.slice(1).map((digit, index) => digit - digits[index]!);
  if (steps.every((step) => step === 0)) return true;
  if (steps.every((step) => step === 1) || steps.every((step) => step === -1)) return true;
  // A pair three times or a triple twice: 121212, 123123 (one digit six times is a period of 1, above).
  if (pin === pin.slice(0, 2).repeat(3) || pin === pin.slice(0, 3).repeat(2)) return true;
  return COMMON_PINS.has(pin);
}

/** Draws a whole number in [0, max): `crypto.randomInt` unless a test passes its own. */
type DrawInt = (max: number) => number;

/** Options of {@link generatePin}. */
export interface GeneratePinOptions {
  /** A PIN the new one must differ from (a rotation's current PIN). */
  differentFrom?: string;
  /** Random source; crypto.randomInt by default (uniform, from the OS's CSPRNG). Tests pass a scripted one. */
  draw?: DrawInt;
}

/** Draws this many times at most; trivial PINs are far under 1 in 10,000, so it only ends a broken source. */
const MAX_DRAWS = 1_000;

/**
 * A random two-step PIN: six digits from the CSPRNG as a string (leading zeros kept), drawn again while it is
 * trivial ({@link isTrivialPin}) or equal to `differentFrom`. Never logged, never returned in an error.
 */
export function generatePin(options: GeneratePinOptions = {}): string {
  const draw = options.draw ?? ((max: number) => randomInt(0, max));
  for (let round = 0; round < MAX_DRAWS; round++) {
    const value = draw(PIN_SPACE);
    if (!Number.isSafeInteger(value) || value < 0 || value >= PIN_SPACE) throw new RangeError(`the random source drew a value outside [0, ${PIN_SPACE})`);
    const pin = String(value).padStart(6, '0');
    if (!isTrivialPin(pin) && pin !== options.differentFrom) return pin;
  }
  throw new Error(`no usable PIN in ${MAX_DRAWS} draws: the random source is not random`);
}
