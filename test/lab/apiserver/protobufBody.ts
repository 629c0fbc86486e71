// Request bodies in Kubernetes' protobuf encoding. kubectl's typed clients
// send them that way whatever the server prefers (`kubectl create service`,
// `create secret`, `auth can-i`, ...). The envelope is the magic "k8s\0"
// then a runtime.Unknown{typeMeta, raw}; raw is the object's message, turned
// into the JSON the rest of the server handles through the schemas in
// protobufSchemas.ts. Fields without a schema entry are skipped. Pure.
import { KIND_API_VERSIONS, KIND_SCHEMAS, type FieldSpec, type MessageSchema } from './protobufSchemas';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** One field occurrence: a varint (as a signed 64-bit value) or a length-delimited payload. */
type FieldValue = { wire: 0; value: bigint } | { wire: 2; bytes: Buffer };
type Fields = Map<number, FieldValue[]>;

function readVarint(buf: Buffer, at: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i]!;
    value |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error('truncated varint');
}

/** Every varint and length-delimited field by number (fixed-width fields are skipped: none of ours use them). */
export function decodeFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const add = (n: number, v: FieldValue) => { const list = fields.get(n) ?? []; list.push(v); fields.set(n, list); };
  while (at < buf.length) {
    const key = readVarint(buf, at);
    at = key.next;
    const field = Number(key.value >> 3n);
    const wire = Number(key.value & 7n);
    if (wire === 0) {
      const v = readVarint(buf, at);
      at = v.next;
      add(field, { wire: 0, value: BigInt.asIntN(64, v.value) });
      continue;
    }
    if (wire === 1) { at += 8; continue; }
    if (wire === 5) { at += 4; continue; }
    if (wire !== 2) throw new Error(`unsupported protobuf wire type ${wire}`);
    const len = readVarint(buf, at);
    const end = len.next + Number(len.value);
    if (end > buf.length) throw new Error('truncated protobuf field');
    add(field, { wire: 2, bytes: buf.subarray(len.next, end) });
    at = end;
  }
  return fields;
}

const bytesOf = (v: FieldValue): Buffer => (v.wire === 2 ? v.bytes : Buffer.alloc(0));
const numberOf = (v: FieldValue): number => (v.wire === 0 ? Number(v.value) : 0);
const stringOf = (v: FieldValue): string => bytesOf(v).toString('utf8');
const last = (f: Fields, n: number): FieldValue | undefined => f.get(n)?.at(-1);

/** A map entry is a message {1: key, 2: value}. */
function mapOf(values: FieldValue[], value: (v: FieldValue | undefined) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of values) {
    const e = decodeFields(bytesOf(entry));
    const k = last(e, 1);
    out[k ? stringOf(k) : ''] = value(last(e, 2));
  }
  return out;
}

const quantityText = (v: FieldValue | undefined): string => {
  const q = v ? last(decodeFields(bytesOf(v)), 1) : undefined;
  return q ? stringOf(q) : '';
};

/** One value of `spec`'s type; `undefined` means "leave the field out" (a Go zero value). */
function decodeValue(spec: FieldSpec, v: FieldValue): unknown {
  const t = spec.type;
  if (typeof t === 'object') return decodeMessage(t, bytesOf(v));
  switch (t) {
    case 'string': { const s = stringOf(v); return s === '' ? undefined : s; }
    case 'optString': return stringOf(v);
    case 'int': { const n = numberOf(v); return n === 0 ? undefined : n; }
    case 'optInt': return numberOf(v);
    case 'bool': return numberOf(v) !== 0 ? true : undefined;
    case 'optBool': return numberOf(v) !== 0;
    case 'quantity': return quantityText(v);
    case 'intOrString': {
      const ios = decodeFields(bytesOf(v));
      const type = last(ios, 1);
      if (type && numberOf(type) === 1) { const s = last(ios, 3); return s ? stringOf(s) : ''; }
      const i = last(ios, 2);
      return i ? numberOf(i) : 0;
    }
    default: return undefined; // maps are decoded from all their entries at once
  }
}

export function decodeMessage(schema: MessageSchema, buf: Buffer): Record<string, unknown> {
  const fields = decodeFields(buf);
  const out: Record<string, unknown> = {};
  for (const [n, values] of fields) {
    const spec = schema[n];
    if (!spec) continue;
    switch (spec.type) {
      case 'stringMap': out[spec.name] = { ...(out[spec.name] as object), ...mapOf(values, (v) => (v ? stringOf(v) : '')) }; continue;
      case 'bytesMap': out[spec.name] = { ...(out[spec.name] as object), ...mapOf(values, (v) => (v ? bytesOf(v).toString('base64') : '')) }; continue;
      case 'quantityMap': out[spec.name] = { ...(out[spec.name] as object), ...mapOf(values, quantityText) }; continue;
      default: break;
    }
    if (spec.repeated) {
      out[spec.name] = values.map((v) => decodeValue(spec, v) ?? (typeof spec.type === 'object' ? {} : spec.type === 'string' ? '' : 0));
      continue;
    }
    const value = decodeValue(spec, values.at(-1)!);
    if (value !== undefined) out[spec.name] = value;
  }
  return out;
}

/** The object inside a protobuf request body, as the JSON the rest of the server handles. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new Error('the protobuf body does not start with the k8s magic');
  const unknown = decodeFields(body.subarray(4));
  const typeMetaField = last(unknown, 1);
  const typeMeta = typeMetaField ? decodeFields(bytesOf(typeMetaField)) : undefined;
  const text = (n: number) => { const v = typeMeta ? last(typeMeta, n) : undefined; return v ? stringOf(v) : undefined; };
  const kind = text(2);
  const raw = last(unknown, 2);
  const schema = kind ? KIND_SCHEMAS[kind] : undefined;
  if (!kind || !schema || !raw) {
    throw new Error(`${kind ?? 'this kind'} in protobuf is not supported by the lab: send application/json`);
  }
  const object = decodeMessage(schema, bytesOf(raw));
  return { apiVersion: text(1) || KIND_API_VERSIONS[kind], kind, ...object, metadata: object.metadata ?? {} };
}
