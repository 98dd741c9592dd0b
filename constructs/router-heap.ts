/**
 * The router's V8 heap flags for a container memory limit (pure: command and limit in, command out).
 *
 * The image's CMD (router-app/Dockerfile) carries `--max-old-space-size` and
 * `--max-semi-space-size` sized for the routers' default limit (256 MiB). Node 20 does not size its
 * heap from the container's limit, so a router given less would be killed by the kernel before V8
 * collects, and one given more would stop at the image's old-space cap with memory to spare. A
 * router given another limit gets both flags scaled by limit ÷ the default: the old-space cap in
 * proportion, the semi-space in proportion but never above the image's (the size the bench measured,
 * bench/FINDINGS.md §8), and at least 1 MiB.
 */

import { Annotations } from 'cdktf';
import { IConstruct } from 'constructs';
import { isUnresolved, propError } from './validation';

const OLD_SPACE = /^--max-old-space-size=(\d+)$/;
const SEMI_SPACE = /^--max-semi-space-size=(\d+)$/;

/**
 * `command` with its heap flags scaled from `sizedForMb` to `memoryMb`, or undefined when nothing
 * changes (the limit the flags were sized for). Throws when `command` lacks either flag: the
 * image's CMD and this function must agree.
 */
export function scaleHeapFlags(command: readonly string[], memoryMb: number, sizedForMb: number): string[] | undefined {
  // Each flag's index in the command and its value in MiB.
  const flag = (re: RegExp) => command.flatMap((a, i) => (re.test(a) ? [{ i, mb: Number(re.exec(a)![1]) }] : []))[0];
  const old = flag(OLD_SPACE);
  const semi = flag(SEMI_SPACE);
  if (!old || !semi) throw new Error(`the router command ${JSON.stringify(command)} must carry --max-old-space-size and --max-semi-space-size (router-app/Dockerfile's CMD)`);
  if (memoryMb === sizedForMb) return undefined;
  const out = [...command];
  out[old.i] = `--max-old-space-size=${Math.max(1, Math.round((old.mb * memoryMb) / sizedForMb))}`;
  out[semi.i] = `--max-semi-space-size=${Math.max(1, Math.min(semi.mb, Math.floor((semi.mb * memoryMb) / sizedForMb)))}`;
  return out;
}

/**
 * The least memory a router may be given, in MiB. `npm run bench:memory` (2026-11-30): with the
 * flags scaled to 128 MiB a router peaked at 102.5 MiB under load at the default's CPU per call;
 * scaled to 96 MiB it stayed under its limit (peak 90.4 MiB) only by collecting without pause:
 * 366 ms of CPU per 1,000 ListTools against 78, a fifth of the throughput.
 */
export const ROUTER_MIN_MEMORY_MB = 128;

/**
 * A literal router memory limit must be 0 (no limit) or at least ROUTER_MIN_MEMORY_MB. Tokens are
 * left to Docker at apply; what is not an integer of at least Docker's 6 MiB is left to
 * validateContainerSecurity, which says so.
 */
export function validateRouterMemory(scope: string, prop: string, memoryMb: unknown): void {
  if (typeof memoryMb !== 'number' || isUnresolved(memoryMb) || !Number.isInteger(memoryMb) || memoryMb < 6) return;
  if (memoryMb < ROUTER_MIN_MEMORY_MB) {
    throw propError(scope, prop, memoryMb, `0 (no limit) or at least ${ROUTER_MIN_MEMORY_MB} MiB for a router: below that its V8 heap collects without pause (bench/FINDINGS.md §12)`);
  }
}

/**
 * A router limit given as a token is unknown until apply, so the routers keep the image's flags
 * (sized for 256 MiB): said at synth as a warning, since a smaller limit would be out of memory
 * before V8 collects.
 */
export function warnIfUnsizedHeap(scope: IConstruct, prop: string, memoryMb: unknown): void {
  if (typeof memoryMb === 'number' && isUnresolved(memoryMb)) {
    Annotations.of(scope).addWarning(`${prop} is a token (known at apply only): the routers keep the image's V8 heap flags, sized for 256 MiB (--max-old-space-size=96); give a literal limit to have them scaled to it, and no less than 256 as a token`);
  }
}
