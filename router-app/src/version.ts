/** The router's version, read from its package.json (next to dist/ and src/ alike). */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export const ROUTER_VERSION: string = (JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
