import { describe, expect, it } from 'vitest';
import { generatePin, isTrivialPin } from '../../shared/pins/generate-pin.ts';
import { formatPinSecret, phoneNumberIdOfSecret, pinSecretName } from '../../shared/pins/pin-secret.ts';
import { parsePinSecret } from '../../shared/secrets/secret-values.ts';

/** A random source that draws the given values in order. */
const scripted = (...values: number[]) => {
  const queue = [...values];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('scripted source ran out');
    return next;
  };
};

describe('isTrivialPin', () => {
  it.each([
    ['000000', 'one digit six times'],
    ['111111', 'one digit six times'],
    ['999999', 'one digit six times'],
    ['012345', 'a run up from zero'],
    ['123456', 'a run up'],
    ['456789', 'a run up'],
    ['654321', 'a run down'],
    ['987654', 'a run down'],
    ['543210', 'a run down to zero'],
    ['121212', 'a pair three times'],
    ['909090', 'a pair three times'],
    ['123123', 'a triple twice'],
    ['007007', 'a triple twice'],
    ['112233', 'a common PIN'],
    ['159753', 'a common PIN'],
    ['123321', 'a common PIN'],
    ['12345', 'five digits'],
    ['1234567', 'seven digits'],
    ['12a456', 'not digits'],
    [' 12345', 'white space'],
  ])('refuses %s (%s)', (pin) => {
    expect(isTrivialPin(pin)).toBe(true);
  });

  it.each(['048213', '730162', '000127', '909091', '123457', '998877'])('accepts %s', (pin) => {
    expect(isTrivialPin(pin)).toBe(false);
  });
});

describe('generatePin', () => {
  it('keeps leading zeros: a draw of 4213 is the PIN 004213, a string', () => {
    // Act
    const pin = generatePin({ draw: scripted(4213) });
    // Assess
    expect(pin).toBe('004213');
  });

  it('draws again while the PIN is trivial or equal to the one it replaces', () => {
    // Prepare: 000000, 123456, 121212 and the current PIN come first
    const draw = scripted(0, 123456, 121212, 730162, 48213);
    // Act
    const pin = generatePin({ draw, differentFrom: '730162' });
    // Assess
    expect(pin).toBe('048213');
  });

  it('refuses a source that draws outside 0..999999, and one that never draws a usable PIN', () => {
    expect(() => generatePin({ draw: () => 1_000_000 })).toThrow(RangeError);
    expect(() => generatePin({ draw: () => 111111 })).toThrow(/not random/);
  });

  it('over 20,000 draws from crypto: six digits always, leading zeros about 1 in 10, never a trivial PIN', () => {
    // Act
    const pins = Array.from({ length: 20_000 }, () => generatePin());
    // Assess
    expect(pins.every((pin) => /^\d{6}$/.test(pin))).toBe(true);
    expect(pins.filter(isTrivialPin)).toEqual([]);
    const leadingZero = pins.filter((pin) => pin.startsWith('0')).length / pins.length;
    // Binomial(20000, 0.1): the standard deviation is 0.2 %; these bounds are 10 of them away.
    expect(leadingZero).toBeGreaterThan(0.08);
    expect(leadingZero).toBeLessThan(0.12);
    // Each digit position is uniform: every digit shows at every position.
    for (let position = 0; position < 6; position++) expect(new Set(pins.map((pin) => pin[position])).size).toBe(10);
    // 20,000 draws from a million: a few hundred collide at most.
    expect(new Set(pins).size).toBeGreaterThan(19_000);
  });
});

describe('PIN secrets', () => {
  it('names a number\'s secret PIN_SECRET_PREFIX + id, and reads the id back from the name only under the prefix', () => {
    expect(pinSecretName('wa-registrar/prod/pin/', '106540352242922')).toBe('wa-registrar/prod/pin/106540352242922');
    expect(phoneNumberIdOfSecret('wa-registrar/prod/pin/', 'wa-registrar/prod/pin/106540352242922')).toBe('106540352242922');
    expect(phoneNumberIdOfSecret('wa-registrar/prod/pin/', 'wa-registrar/prod/graph-token')).toBeUndefined();
    expect(phoneNumberIdOfSecret('wa-registrar/prod/pin/', 'wa-registrar/prod/pin/106/old')).toBeUndefined();
    expect(phoneNumberIdOfSecret('wa-registrar/prod/pin/', 'wa-registrar/prod/pin/')).toBeUndefined();
  });

  it.each([
    [undefined, '{"pin":"004213"}'],
    ['730162', '004213'],
    ['{"pin":"730162","note":"set by ops"}', '{"pin":"004213","note":"set by ops"}'],
    ['{not json', '{"pin":"004213"}'],
  ])('stores a new PIN in the shape of the value it replaces (%j), readable by parsePinSecret with its zeros', (previous, expected) => {
    // Act
    const value = formatPinSecret('004213', previous);
    // Assess
    expect(value).toBe(expected);
    expect(parsePinSecret(value)).toEqual({ kind: 'found', value: '004213' });
  });
});
