/**
 * JSON <-> google.protobuf.Struct / Value / ListValue, in the object shape
 * @grpc/proto-loader uses ({ fields: { k: { stringValue: 'x' } } }).
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface ProtoValue {
  nullValue?: 'NULL_VALUE' | 0;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: ProtoListValue;
  kind?: string;
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}
export interface ProtoListValue {
  values?: ProtoValue[];
}

/** Sets an own property even for keys like "__proto__" (which plain assignment would swallow). */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function toValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'number':
      return { numberValue: v };
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'object':
      return Array.isArray(v) ? { listValue: toListValue(v) } : { structValue: toStruct(v as Record<string, unknown>) };
    default:
      return { stringValue: String(v) };
  }
}

export function toStruct(obj: Record<string, unknown> | undefined | null): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  if (obj) for (const k of Object.keys(obj)) if (obj[k] !== undefined) setOwn(fields, k, toValue(obj[k]));
  return { fields };
}

export function toListValue(arr: readonly unknown[] | undefined | null): ProtoListValue {
  return { values: (arr ?? []).map(toValue) };
}

export function fromValue(v: ProtoValue | undefined | null): Json {
  if (!v) return null;
  const kind = v.kind ?? (v.structValue ? 'structValue' : v.listValue ? 'listValue' : v.stringValue !== undefined ? 'stringValue' : v.numberValue !== undefined ? 'numberValue' : v.boolValue !== undefined ? 'boolValue' : 'nullValue');
  switch (kind) {
    case 'numberValue':
      return v.numberValue ?? 0;
    case 'stringValue':
      return v.stringValue ?? '';
    case 'boolValue':
      return v.boolValue ?? false;
    case 'structValue':
      return fromStruct(v.structValue);
    case 'listValue':
      return fromListValue(v.listValue);
    default:
      return null;
  }
}

export function fromStruct(s: ProtoStruct | undefined | null): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  const fields = s?.fields;
  if (fields) for (const k of Object.keys(fields)) setOwn(out, k, fromValue(fields[k]));
  return out;
}

export function fromListValue(l: ProtoListValue | undefined | null): Json[] {
  return (l?.values ?? []).map(fromValue);
}
