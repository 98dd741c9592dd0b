/** Property tests: Struct conversion round-trips; namespaced names are valid, unique and deterministic. */
import * as fc from 'fast-check';
import * as protoLoader from '@grpc/proto-loader';
import * as grpc from '@grpc/grpc-js';
import { fromListValue, fromStruct, fromValue, toListValue, toStruct, toValue } from '../../router-app/src/grpc/struct';
import { assignNames, NAME_PATTERN, namespacedName } from '../../router-app/src/mcp/naming';
import { PROTO_FILE, LOADER_OPTIONS } from '../../router-app/src/grpc/proto';

// JSON values as protobuf Struct can carry them (numbers are doubles; no undefined).
const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)));
const jsonObject = fc.dictionary(fc.string(), json, { maxKeys: 6 });

test('JSON -> Struct -> JSON is the identity', () => {
  fc.assert(
    fc.property(jsonObject, (obj) => expect(fromStruct(toStruct(obj))).toEqual(obj)),
    { numRuns: 300 }
  );
});

test('JSON value -> Value -> JSON (any kind at the top, lists too) is the identity; undefined object members are dropped', () => {
  fc.assert(
    fc.property(json, (v) => expect(fromValue(toValue(v))).toEqual(v)),
    { numRuns: 300 }
  );
  fc.assert(
    fc.property(fc.array(json, { maxLength: 5 }), (a) => expect(fromListValue(toListValue(a))).toEqual(a)),
    { numRuns: 100 }
  );
  expect(fromStruct(toStruct({ a: undefined, b: 1 }))).toEqual({ b: 1 });
  expect(fromValue(toValue(undefined))).toBeNull();
});

test('a "__proto__" key is kept as data and never changes the prototype', () => {
  const obj = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}');
  const back = fromStruct(toStruct(obj)) as any;
  expect(Object.keys(back).sort()).toEqual(['__proto__', 'x']);
  expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  expect(({} as any).polluted).toBeUndefined();
  expect(back.polluted).toBeUndefined();
});

test('and survives the real protobuf wire encoding of CallToolRequest', () => {
  const def = protoLoader.loadSync(PROTO_FILE, LOADER_OPTIONS);
  const method = (def['mcp.router.v1.McpRouter'] as grpc.ServiceDefinition).CallTool;
  // protobufjs decodes map keys by plain assignment, so a "__proto__" key cannot survive the wire (documented limitation).
  const wireSafe = fc.dictionary(
    fc.string().filter((k) => k !== '__proto__'),
    json.filter((v) => !JSON.stringify(v).includes('"__proto__"')),
    { maxKeys: 6 }
  );
  fc.assert(
    fc.property(wireSafe, (obj) => {
      const wire = method.requestSerialize({
        name: 't',
        arguments: toStruct(obj),
      });
      const back = method.requestDeserialize(wire) as {
        arguments?: Parameters<typeof fromStruct>[0];
      };
      expect(fromStruct(back.arguments)).toEqual(obj);
    }),
    { numRuns: 200 }
  );
});

test('namespaced names always match ^[a-zA-Z0-9_-]{1,64}$ and are deterministic', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 100 }), fc.string({ minLength: 1, maxLength: 200 }), (server, name) => {
      const n = namespacedName(server, name);
      expect(n).toMatch(NAME_PATTERN);
      expect(namespacedName(server, name)).toBe(n);
    }),
    { numRuns: 500 }
  );
});

test('assignNames: any (server, name) pairs (full Unicode, any length) get unique, valid names independent of input order', () => {
  const pair = fc.record({
    server: fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }),
  });
  fc.assert(
    fc.property(
      fc
        .uniqueArray(pair, {
          selector: (p) => `${p.server}\u0000${p.name}`,
          maxLength: 25,
        })
        .chain((arr) =>
          fc.tuple(
            fc.constant(arr),
            fc.shuffledSubarray(arr, {
              minLength: arr.length,
              maxLength: arr.length,
            })
          )
        ),
      ([pairs, shuffled]) => {
        const m = assignNames(pairs);
        expect(m.size).toBe(pairs.length);
        for (const n of m.keys()) expect(n).toMatch(NAME_PATTERN);
        const again = assignNames(shuffled);
        for (const [n, v] of m) expect(again.get(n)).toEqual(v);
      }
    ),
    { numRuns: 300 }
  );
});

test('assignNames names a pair listed many times once, for the first copy, in linear time (a server listing one name 20,000 times)', () => {
  const copies = Array.from({ length: 20_000 }, (_, i) => ({ server: 's', name: 'a', copy: i }));
  const t0 = process.hrtime.bigint();
  const m = assignNames([...copies, { server: 's', name: 'b', copy: -1 }]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  expect([...m.keys()].sort()).toEqual(['s__a', 's__b']);
  expect(m.get('s__a')!.copy).toBe(0);
  // Quadratic, this took ~200 million hashes; linear, a few ms. Bounded generously for a loaded CI machine.
  expect(ms).toBeLessThan(2_000);
});

test('a clean, short name is kept as is; a changed or shortened one carries a hash of the original', () => {
  expect(namespacedName('weather', 'get_forecast')).toBe('weather__get_forecast');
  const a = namespacedName('team.search', 'find');
  const b = namespacedName('team_search', 'find');
  expect(b).toBe('team_search__find');
  expect(a).toMatch(/^team_search__find-[0-9a-f]{8}$/);
  expect(a).not.toBe(b);
  const long = namespacedName('s'.repeat(40), 't'.repeat(40));
  expect(long).toHaveLength(64);
  expect(long).not.toBe(namespacedName('s'.repeat(40), 't'.repeat(41)));
});

test('assignNames gives every (server, name) pair its own valid name, whatever the input order', () => {
  const pair = fc.record({
    server: fc.constantFrom('a', 'a__b', 'x'.repeat(70), 'sv c', 'é'),
    name: fc.constantFrom('b__c', 'c', 'b', 'tool!', 'y'.repeat(80), 'b__c '),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(pair, {
        selector: (p) => `${p.server}\0${p.name}`,
        maxLength: 20,
      }),
      (pairs) => {
        const m = assignNames(pairs);
        expect(m.size).toBe(pairs.length);
        for (const n of m.keys()) expect(n).toMatch(NAME_PATTERN);
        const reversed = assignNames([...pairs].reverse());
        expect([...reversed.entries()].map(([k, v]) => `${k}=${v.server}/${v.name}`).sort()).toEqual(
          [...m.entries()].map(([k, v]) => `${k}=${v.server}/${v.name}`).sort()
        );
      }
    ),
    { numRuns: 300 }
  );
});
