/**
 * Plain JSON <-> the message objects @grpc/proto-loader uses (camelCase
 * fields, google.protobuf.Struct as { fields: { k: { stringValue } } }),
 * driven by the router's proto, so the CLI takes and prints JSON the way
 * grpcurl does: Struct / Value / ListValue fields are plain JSON objects,
 * values and arrays. Pure functions; bad input throws a RequestJsonError
 * naming the field, the value received and what is allowed.
 */
import * as protobuf from 'protobufjs';
import { fromListValue, fromStruct, fromValue, toListValue, toStruct, toValue } from '../../router-app/src/grpc/struct';

export class RequestJsonError extends Error {
  override readonly name = 'RequestJsonError';
}

const STRUCT = '.google.protobuf.Struct';
const VALUE = '.google.protobuf.Value';
const LIST_VALUE = '.google.protobuf.ListValue';

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

function scalar(field: protobuf.Field, v: unknown, where: string): unknown {
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw new RequestJsonError(`${where} must be a string; received ${show(v)}`);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw new RequestJsonError(`${where} must be true or false; received ${show(v)}`);
      return v;
    case 'double':
    case 'float':
      if (typeof v !== 'number') throw new RequestJsonError(`${where} must be a number; received ${show(v)}`);
      return v;
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new RequestJsonError(`${where} must be an integer; received ${show(v)}`);
      return v;
    default:
      throw new RequestJsonError(`${where}: field type ${field.type} is not supported by this CLI`);
  }
}

function fieldValue(field: protobuf.Field, v: unknown, where: string): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    if (t.fullName === STRUCT) {
      if (!isPlainObject(v)) throw new RequestJsonError(`${where} must be a JSON object; received ${show(v)}`);
      return toStruct(v);
    }
    if (t.fullName === LIST_VALUE) {
      if (!Array.isArray(v)) throw new RequestJsonError(`${where} must be a JSON array; received ${show(v)}`);
      return toListValue(v);
    }
    if (t.fullName === VALUE) return toValue(v);
    return toMessage(t, v, where);
  }
  if (t instanceof protobuf.Enum) {
    if (typeof v !== 'string' || !(v in t.values)) throw new RequestJsonError(`${where} must be one of ${Object.keys(t.values).join(', ')}; received ${show(v)}`);
    return v;
  }
  return scalar(field, v, where);
}

/** A request message object from plain JSON; `where` names the value in errors. */
export function toMessage(type: protobuf.Type, json: unknown, where = 'request'): Record<string, unknown> {
  if (!isPlainObject(json)) throw new RequestJsonError(`${where} must be a JSON object (${type.name}); received ${show(json)}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) {
    const field = type.fields[camel(key)];
    if (!field) {
      const allowed = type.fieldsArray.map((f) => f.name).join(', ') || '(none)';
      throw new RequestJsonError(`${where} has no field ${JSON.stringify(key)}; ${type.name} has: ${allowed}`);
    }
    field.resolve();
    const at = `${where}.${field.name}`;
    if (v === null) continue;
    if (field.map) {
      if (!isPlainObject(v)) throw new RequestJsonError(`${at} must be a JSON object (a map); received ${show(v)}`);
      out[field.name] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fieldValue(field, x, `${at}[${JSON.stringify(k)}]`)]));
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw new RequestJsonError(`${at} must be a JSON array; received ${show(v)}`);
      out[field.name] = v.map((x, i) => fieldValue(field, x, `${at}[${i}]`));
    } else {
      out[field.name] = fieldValue(field, v, at);
    }
  }
  return out;
}

function outValue(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    if (t.fullName === STRUCT) return fromStruct(v as never);
    if (t.fullName === LIST_VALUE) return fromListValue(v as never);
    if (t.fullName === VALUE) return fromValue(v as never);
    return fromMessage(t, v as Record<string, unknown>);
  }
  return v;
}

/** Plain JSON from a response message object (declared fields only, in proto order). */
export function fromMessage(type: protobuf.Type, msg: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!msg) return out;
  for (const field of type.fieldsArray) {
    field.resolve();
    const v = msg[field.name];
    if (v === undefined || v === null) continue;
    if (field.map) out[field.name] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, outValue(field, x)]));
    else if (field.repeated) out[field.name] = (v as unknown[]).map((x) => outValue(field, x));
    else out[field.name] = outValue(field, v);
  }
  return out;
}
