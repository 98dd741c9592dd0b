/**
 * Synth-time validation shared by the constructs. Every message names the
 * construct and prop, the value received and what is allowed, so a wrong prop
 * fails `cdktf synth` with a message that says what to change. Unresolved
 * tokens (Terraform variables, references) are skipped: Terraform validates
 * them at plan time instead.
 */
import { Token } from 'cdktf';

export class PropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropError';
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function propError(scope: string, prop: string, value: unknown, allowed: string): PropError {
  return new PropError(`${scope}: ${prop} must be ${allowed}; received ${describeValue(value)}`);
}

/** True when the value is a token Terraform resolves later (skip synth-time checks). */
export function isUnresolved(value: unknown): boolean {
  return (typeof value === 'number' || typeof value === 'string') && Token.isUnresolved(value);
}

export function validateInteger(scope: string, prop: string, value: number | undefined, min: number, max: number, hint = ''): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw propError(scope, prop, value, `an integer from ${min} to ${max}${hint}`);
  }
}

export function validatePort(scope: string, prop: string, value: number | undefined): void {
  validateInteger(scope, prop, value, 1, 65535);
}

export function validateNumber(scope: string, prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw propError(scope, prop, value, `a number from ${min} to ${max}`);
  }
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** Docker/DNS-safe resource name prefix. */
export function validateName(scope: string, prop: string, value: string | undefined): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || !NAME_RE.test(value)) {
    throw propError(scope, prop, value, 'a non-empty name of lowercase letters, digits and hyphens (at most 40 characters, not starting or ending with a hyphen)');
  }
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function validateIpv4(scope: string, prop: string, value: string | undefined): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || !IPV4_RE.test(value)) throw propError(scope, prop, value, 'an IPv4 address such as 127.0.0.1 or 0.0.0.0');
}

export function validateOneOf<T extends string>(scope: string, prop: string, value: T | undefined, allowed: readonly T[]): void {
  if (value === undefined || isUnresolved(value)) return;
  if (!allowed.includes(value)) throw propError(scope, prop, value, `one of ${allowed.join(', ')}`);
}

/** Host ports published by one deployment must not clash. */
export function validateDistinctPorts(scope: string, ports: Record<string, number | undefined>): void {
  const seen = new Map<number, string>();
  for (const [prop, port] of Object.entries(ports)) {
    if (port === undefined || isUnresolved(port)) continue;
    const other = seen.get(port);
    if (other) throw propError(scope, prop, port, `different from ${other} (${port}): two services cannot publish the same host port`);
    seen.set(port, prop);
  }
}

/** A required string prop (a literal or a token): non-empty, without whitespace at either end. */
export function validateRequiredString(scope: string, prop: string, value: unknown, allowed: string): void {
  if (isUnresolved(value)) return;
  if (typeof value !== 'string' || value.trim() === '' || value.trim() !== value) throw propError(scope, prop, value, allowed);
}

/** Props that become construct IDs, names of outputs or other synth-time strings cannot be tokens. */
export function validateLiteral(scope: string, prop: string, value: unknown): void {
  if (isUnresolved(value)) throw propError(scope, prop, value, 'a literal value known at synth (not a Terraform token)');
}
