/** Snapshots of the synthesized plans: default app (variable count), fixed counts, both modes. */
import { BalanceAlgorithm, HaproxyMode } from '../../constructs';
import { synthString } from './synth-helpers';

describe('synthesized cdk.tf.json snapshots', () => {
  test.each([
    ['one stack, ACL off (variable instanceCount)', {}],
    ['instanceCount 1', { instanceCount: 1 }],
    ['instanceCount 3', { instanceCount: 3 }],
    ['instanceCount 10', { instanceCount: 10 }],
    ['tcp mode', { mode: HaproxyMode.TCP }],
    ['http mode, leastconn', { mode: HaproxyMode.HTTP, balance: BalanceAlgorithm.LEAST_CONN }],
  ])('%s', (_name, props) => {
    const text = synthString(props);
    expect(text).not.toMatch(/\/(home|root|tmp|work|Users)\//); // no absolute paths
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/); // no timestamps
    expect(JSON.parse(text)).toMatchSnapshot();
  });
});
