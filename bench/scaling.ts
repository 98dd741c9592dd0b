/** Item 8: the seed's scaling table (1, 3, 5 routers behind HAProxy http on a fixed CPU budget). */
import type { BenchContext } from './context';
import type { Row } from './report';

export async function runScalingItem(ctx: BenchContext): Promise<Row[]> {
  if (!ctx.cfg.only.has(8)) return [];
  return [];
}
