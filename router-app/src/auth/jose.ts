/**
 * The `jose` library (JWT/JWS/JWK, maintained; the router writes no crypto).
 * jose is an ES module: Node ≥ 20.19 loads it with require(), which keeps the
 * router's CommonJS build and its synchronous start.
 */
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const jose: typeof Jose = require('jose');

export type { JWTPayload, JWK, JSONWebKeySet, JWSHeaderParameters, FlattenedJWSInput } from 'jose' with { 'resolution-mode': 'import' };
