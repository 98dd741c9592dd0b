/**
 * Validation for the constructs and the config renderers, with one error
 * type. A PropError names the construct (or renderer), the prop, the value
 * received and what is allowed, so a wrong prop fails `cdktf synth` with a
 * message that says what to change.
 *
 * Two kinds of check: `check*` refuse anything that is not a literal of the
 * right kind (renderers: their input is written into a config file), and
 * `validate*` skip unresolved tokens (constructs: Terraform validates those at
 * plan time instead).
 */
import { Token } from 'cdktf';
import { PATTERNS } from '../router-app/src/contract';

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

/**
 * The error every invalid prop or option throws: `<construct>: <prop> must be
 * <allowed>; received <value>`.
 *
 * TypeScript and JavaScript only: a jsii class cannot extend Error, and a jsii
 * host (Python) receives every JavaScript error as its own error type with
 * this message.
 *
 * @jsii ignore
 */
export class PropError extends Error {
  override readonly name = 'PropError';
  constructor(
    /** The construct or renderer whose prop this is, e.g. `McpRouterPlatform` or `renderHaproxyConfig`. */
    readonly construct: string,
    /** The prop (a path for nested options, e.g. `healthCheck.interMs`). */
    readonly prop: string,
    readonly value: any,
    /** What is allowed, as a phrase after "must be". */
    readonly allowed: string,
  ) {
    super(`${construct}: ${prop} must be ${allowed}; received ${describeValue(value)}`);
  }

  /** The same problem, reported as an option of an enclosing construct: `within('HaproxyLoadBalancer', 'config')` → `HaproxyLoadBalancer: config.<prop>`. */
  within(construct: string, option: string): PropError {
    return new PropError(construct, `${option}.${this.prop}`, this.value, this.allowed);
  }
}

export function propError(scope: string, prop: string, value: unknown, allowed: string): PropError {
  return new PropError(scope, prop, value, allowed);
}

/** True when the value is a token Terraform resolves later (skip synth-time checks). */
export function isUnresolved(value: unknown): boolean {
  return (typeof value === 'number' || typeof value === 'string') && Token.isUnresolved(value);
}

// --- strict checks: literals only (renderers) ---------------------------------

export function checkInteger(scope: string, prop: string, value: unknown, min: number, max: number, hint = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw propError(scope, prop, value, `an integer from ${min} to ${max}${hint}`);
  return value;
}

export function checkNumber(scope: string, prop: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw propError(scope, prop, value, `a number from ${min} to ${max}`);
  return value;
}

export function checkIpv4(scope: string, prop: string, value: unknown): string {
  if (typeof value !== 'string' || !PATTERNS.ipv4.test(value)) throw propError(scope, prop, value, 'an IPv4 address such as 127.0.0.1 or 0.0.0.0');
  return value;
}

export function checkBoolean(scope: string, prop: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw propError(scope, prop, value, 'true or false');
  return value;
}

export function checkOneOf<T extends string>(scope: string, prop: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw propError(scope, prop, value, `one of ${allowed.join(', ')}`);
  return value as T;
}

export function checkObject(scope: string, prop: string, value: unknown, allowed = 'an object'): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw propError(scope, prop, value, allowed);
}

// --- construct checks: skip unresolved tokens -------------------------------

export function validateInteger(scope: string, prop: string, value: number | undefined, min: number, max: number, hint = ''): void {
  if (value === undefined || isUnresolved(value)) return;
  checkInteger(scope, prop, value, min, max, hint);
}

export function validatePort(scope: string, prop: string, value: number | undefined): void {
  validateInteger(scope, prop, value, 1, 65535);
}

export function validateNumber(scope: string, prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || isUnresolved(value)) return;
  checkNumber(scope, prop, value, min, max);
}

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/** Docker/DNS-safe resource name prefix. */
export function validateName(scope: string, prop: string, value: string | undefined): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || !NAME_RE.test(value)) {
    throw propError(scope, prop, value, 'a non-empty name of lowercase letters, digits and hyphens (at most 40 characters, not starting or ending with a hyphen)');
  }
}

export function validateIpv4(scope: string, prop: string, value: string | undefined): void {
  if (value === undefined || isUnresolved(value)) return;
  checkIpv4(scope, prop, value);
}

export function validateOneOf<T extends string>(scope: string, prop: string, value: T | undefined, allowed: readonly T[]): void {
  if (value === undefined || isUnresolved(value)) return;
  checkOneOf(scope, prop, value, allowed);
}

/**
 * What every container construct checks of its own: its name, the host
 * addresses it publishes on, and its host ports (valid, and no two alike).
 */
export function validateContainerPublishing(scope: string, o: { readonly containerName: string; readonly addresses: Record<string, string>; readonly ports: Record<string, number | undefined> }): void {
  validateName(scope, 'containerName', o.containerName);
  for (const [prop, address] of Object.entries(o.addresses)) validateIpv4(scope, prop, address);
  for (const [prop, port] of Object.entries(o.ports)) validatePort(scope, prop, port);
  validateDistinctPorts(scope, o.ports);
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

/** An optional image reference: a non-empty string. */
export function validateImage(scope: string, prop: string, value: unknown, example: string): void {
  if (value === undefined || isUnresolved(value)) return;
  if (typeof value !== 'string' || value.trim() === '') throw propError(scope, prop, value, `a non-empty image reference such as ${example}`);
}

/** Props that become construct IDs, names of outputs or other synth-time strings cannot be tokens. */
export function validateLiteral(scope: string, prop: string, value: unknown): void {
  if (isUnresolved(value)) throw propError(scope, prop, value, 'a literal value known at synth (not a Terraform token)');
}

/**
 * `enableMcp` (default true) with `mcpPort`: a port only while the MCP endpoint
 * is on. `mcpPort: false` (the form before enableMcp) is refused with the way to
 * say it now.
 */
export function resolveEnableMcp(scope: string, enableMcp: boolean | undefined, mcpPort: number | undefined): boolean {
  if ((mcpPort as unknown) === false) throw propError(scope, 'mcpPort', false, 'a port from 1 to 65535; to leave the MCP endpoint out, set enableMcp: false');
  if (enableMcp !== undefined && typeof enableMcp !== 'boolean') throw propError(scope, 'enableMcp', enableMcp, 'true or false');
  if (enableMcp === false && mcpPort !== undefined) throw propError(scope, 'mcpPort', mcpPort, 'left unset when enableMcp is false');
  return enableMcp ?? true;
}

/**
 * Runs a renderer's resolve step and reports its PropError as the construct's
 * own option (`<construct>: <option>.<prop>`), by structure, not by text.
 */
export function resolveAs<T>(construct: string, option: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (err) {
    if (err instanceof PropError) throw err.within(construct, option);
    throw err;
  }
}

/**
 * Runs `build` (which creates a part) and reports the part's PropError as a
 * prop of the enclosing construct, by structure: `map` names, for the part's
 * props (or their leading path), the enclosing construct's prop the user set.
 * A part's prop not in `map` is reported as the part's own.
 */
export function asOwnProps<T>(construct: string, part: string, map: Readonly<Record<string, string>>, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (!(err instanceof PropError) || err.construct !== part) throw err;
    const keys = Object.keys(map).sort((a, b) => b.length - a.length);
    for (const k of keys) {
      if (err.prop === k) throw new PropError(construct, map[k], err.value, err.allowed);
      if (err.prop.startsWith(`${k}.`) || err.prop.startsWith(`${k}[`)) throw new PropError(construct, `${map[k]}${err.prop.slice(k.length)}`, err.value, err.allowed);
    }
    throw err;
  }
}
