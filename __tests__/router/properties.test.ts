/** Property tests: Struct conversion round-trips; namespaced names are valid, unique and deterministic. */
import * as fc from 'fast-check';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { fromStruct, toStruct } from '../../router-app/src/grpc/struct';
import { assignNames, NAME_PATTERN, namespacedName } from '../../router-app/src/mcp/naming';
import { PROTO_FILE, LOADER_OPTIONS } from '../../router-app/src/grpc/proto';

// JSON values as protobuf Struct can carry them (numbers are doubles; no undefined).
const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)));
const jsonObject = fc.dictionary(fc.string(), json, { maxKeys: 6 });

test('JSON -> Struct -> JSON is the identity', () => {
  fc.assert(fc.property(jsonObject, (obj) => expect(fromStruct(toStruct(obj))).toEqual(obj)), { numRuns: 300 });
});

test('and survives the real protobuf wire encoding of CallToolRequest', () => {
  const def = protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
  const method = (def['mcp.router.v1.McpRouter'] as grpc.ServiceDefinition).CallTool;
  // protobufjs decodes map keys by plain assignment, so a "__proto__" key cannot survive the wire (documented limitation).
  const wireSafe = fc.dictionary(fc.string().filter((k) => k !== '__proto__'), json.filter((v) => !JSON.stringify(v).includes('"__proto__"')), { maxKeys: 6 });
  fc.assert(
    fc.property(wireSafe, (obj) => {
      const wire = method.requestSerialize({ name: 't', arguments: toStruct(obj) });
      const back = method.requestDeserialize(wire) as { arguments?: Parameters<typeof fromStruct>[0] };
      expect(fromStruct(back.arguments)).toEqual(obj);
    }),
    { numRuns: 200 },
  );
});

test('namespaced names always match ^[a-zA-Z0-9_-]{1,64}$ and are deterministic', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.string({ minLength: 1, maxLength: 200 }), (server, name) => {
      const n = namespacedName(server, name);
      expect(n).toMatch(NAME_PATTERN);
      expect(namespacedName(server, name)).toBe(n);
    }),
    { numRuns: 500 },
  );
});

test('assignNames gives every (server, name) pair its own valid name, whatever the input order', () => {
  const pair = fc.record({ server: fc.constantFrom('a', 'a__b', 'x'.repeat(70), 'sv c', 'é'), name: fc.constantFrom('b__c', 'c', 'b', 'tool!', 'y'.repeat(80), 'b__c ') });
  fc.assert(
    fc.property(fc.uniqueArray(pair, { selector: (p) => `${p.server}\0${p.name}`, maxLength: 20 }), (pairs) => {
      const m = assignNames(pairs);
      expect(m.size).toBe(pairs.length);
      for (const n of m.keys()) expect(n).toMatch(NAME_PATTERN);
      const reversed = assignNames([...pairs].reverse());
      expect([...reversed.entries()].map(([k, v]) => `${k}=${v.server}/${v.name}`).sort()).toEqual([...m.entries()].map(([k, v]) => `${k}=${v.server}/${v.name}`).sort());
    }),
    { numRuns: 300 },
  );
});
