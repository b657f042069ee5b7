import { simulatorDigest } from '../../../tools/graph-simulator.ts';
import { safeJson } from './instrument.ts';

/**
 * Every PIN and token value a program ever stored or gave Meta, with a readable label ("PIN wrong#2 of 102").
 * `scan` reports any of them in text the worker produced. PINs in the model all start with 0 and are matched only
 * when no other hex digit touches them, so epoch times, UUIDs and fbtrace ids never match by accident.
 */
export class SecretCatalog {
  readonly #secrets: Array<{ value: string; label: string; pattern?: RegExp }> = [];
  readonly #labels = new Map<string, string>();
  readonly #onLeak: (text: string) => void;

  constructor(onLeak: (text: string) => void) {
    this.#onLeak = onLeak;
  }

  addPin(value: string, label: string): void {
    this.#add(value, label, new RegExp(`(?<![0-9a-fA-F])${value}(?![0-9a-fA-F])`));
  }

  addToken(value: string, label: string): void {
    this.#add(value, label);
  }

  /** The label of a simulator digest (`sha256:…`), for the report. */
  label(digest: string | undefined): string {
    return digest === undefined ? '-' : (this.#labels.get(digest) ?? digest);
  }

  scan(source: string, value: unknown): void {
    const text = typeof value === 'string' ? value : safeJson(value);
    if (!text) return;
    for (const secret of this.#secrets) {
      const found = secret.pattern ? secret.pattern.test(text) : text.includes(secret.value);
      if (found) this.#onLeak(`invariant 6 (no secret in output): ${secret.label} appeared in ${source}`);
    }
  }

  #add(value: string, label: string, pattern?: RegExp): void {
    if (this.#labels.has(simulatorDigest(value))) return;
    this.#labels.set(simulatorDigest(value), label);
    this.#secrets.push({ value, label, ...(pattern ? { pattern } : {}) });
  }
}

type Writer = (chunk: unknown, ...rest: unknown[]) => boolean;

/**
 * Captures everything printed (console.* and direct writes to stdout/stderr) until the returned function is
 * called, handing each piece to `onText` instead of printing it. The worker's logger writes through these.
 */
export function captureOutput(onText: (text: string) => void): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((method) => console[method]);
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  for (const method of methods) {
    console[method] = (...args: unknown[]) => onText(args.map((arg) => (typeof arg === 'string' ? arg : safeJson(arg))).join(' '));
  }
  const writer: Writer = (chunk) => {
    onText(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = writer as typeof process.stdout.write;
  process.stderr.write = writer as typeof process.stderr.write;
  return () => {
    methods.forEach((method, index) => {
      console[method] = saved[index]!;
    });
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
  };
}
