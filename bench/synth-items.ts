import { BenchContext } from './context';
import { Row } from './report';
export async function runSynthItems(_ctx: BenchContext): Promise<Row[]> {
  return [];
}
