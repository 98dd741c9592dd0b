/**
 * A file for Swarm tasks as a Docker config (docker_config): Swarm configs are
 * immutable, so the name carries a hash of the content; a changed file is a new
 * config, created before the old one is destroyed (the service moves to the new
 * one in a rolling update first).
 */
import { createHash } from 'node:crypto';
import { Config } from '@cdktf/provider-docker/lib/config';
import { Construct } from 'constructs';

/** docker_config named `<prefix>-<sha256 of content, 12 hex>`, content base64-encoded at synth. */
export function swarmConfigFile(scope: Construct, id: string, namePrefix: string, content: string): Config {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12);
  return new Config(scope, id, {
    name: `${namePrefix}-${hash}`,
    data: Buffer.from(content, 'utf8').toString('base64'),
    lifecycle: { createBeforeDestroy: true },
  });
}
