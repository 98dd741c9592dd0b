/**
 * constructs/README.md documents every prop of every construct: each `readonly` member of each
 * exported `…Props` interface in constructs/*.ts is named in the README section of its construct
 * (a heading naming it, `Foo` or `FooProps`). Props nested in another's (a JWT's, a rate limit's,
 * a cluster's ACL) are documented in their parent's section. A review found four constructs with
 * props the reference left out (RouterFleet's Consul token, HAProxy's further DNS servers, the
 * Consul parts' lockdown) and one construct (DemoBackends) with no section at all.
 */
import * as fs from 'fs';
import * as path from 'path';

const DIR = path.resolve(__dirname, '..', '..', 'constructs');
const README = fs.readFileSync(path.join(DIR, 'README.md'), 'utf8');

/** Interfaces documented inside another's section. */
const PARENT: Record<string, string> = { JwtAuth: 'RouterAuth', RateLimit: 'RouterAuth', ConsulClusterAcl: 'ConsulCluster' };

/** README sections by the first code name in their heading, with "Props" dropped. */
function sections(): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of README.split('\n')) {
    if (/^#{2,3} /.test(line)) current = /`(\w+?)(Props)?`/.exec(line)?.[1];
    if (current) out.set(current, (out.get(current) ?? '') + line + '\n');
  }
  return out;
}

function propsInterfaces(): Array<{ name: string; file: string; props: string[] }> {
  return fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.ts'))
    .flatMap((file) =>
      [...fs.readFileSync(path.join(DIR, file), 'utf8').matchAll(/export interface (\w+)Props(?: extends [^{]+)? \{([\s\S]*?)\n\}/g)].map((m) => ({
        name: m[1],
        file,
        props: [...m[2].matchAll(/^ {2}readonly (\w+)\??:/gm)].map((p) => p[1]),
      })),
    );
}

test('every prop of every construct is named in its section of constructs/README.md', () => {
  const bySection = sections();
  const interfaces = propsInterfaces();
  expect(interfaces.map((i) => i.name)).toEqual(expect.arrayContaining(['McpRouterPlatform', 'RouterFleet', 'HaproxyLoadBalancer', 'DemoBackends', 'ConsulCluster']));
  const missing: string[] = [];
  for (const { name, file, props } of interfaces) {
    const section = bySection.get(PARENT[name] ?? name);
    if (section === undefined) {
      missing.push(`${name}Props (${file}): no section in constructs/README.md`);
      continue;
    }
    // A nested interface's props appear as words in its parent's rows; a construct's as `code`.
    const named = (p: string) => (PARENT[name] ? new RegExp(`\\b${p}\\b`).test(section) : section.includes(`\`${p}\``) || section.includes(`${p}\``) || section.includes(`\`${p}`));
    for (const p of props) if (!named(p)) missing.push(`${name}Props.${p} (${file})`);
  }
  expect(missing).toEqual([]);
});
