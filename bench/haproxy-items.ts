import { BenchContext } from './context';
import { Row } from './report';
export async function runHaproxyItems(_ctx: BenchContext): Promise<Row[]> {
  return [];
}
