// Request bodies in Kubernetes' protobuf encoding, for the one type kubectl
// insists on sending that way (`kubectl auth can-i` posts a
// SelfSubjectAccessReview as `application/vnd.kubernetes.protobuf`). The
// envelope is the magic "k8s\0" then a runtime.Unknown{typeMeta, raw}; raw
// is the object's protobuf message. Only the fields the lab reads are
// decoded; everything else is skipped by wire type. Pure.

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, Buffer[]>;

function readVarint(buf: Buffer, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error('truncated varint');
}

/** Length-delimited fields by number (varints and fixed fields are skipped). */
export function decodeFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let at = 0;
  while (at < buf.length) {
    const key = readVarint(buf, at);
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === 0) { at = readVarint(buf, at).next; continue; }
    if (wire === 1) { at += 8; continue; }
    if (wire === 5) { at += 4; continue; }
    if (wire !== 2) throw new Error(`unsupported protobuf wire type ${wire}`);
    const len = readVarint(buf, at);
    const end = len.next + len.value;
    if (end > buf.length) throw new Error('truncated protobuf field');
    const list = fields.get(field) ?? [];
    list.push(buf.subarray(len.next, end));
    fields.set(field, list);
    at = end;
  }
  return fields;
}

const str = (f: Fields, n: number): string | undefined => f.get(n)?.[0]?.toString('utf8');
const sub = (f: Fields, n: number): Fields | undefined => { const b = f.get(n)?.[0]; return b ? decodeFields(b) : undefined; };

/** The object inside a protobuf request body, as the JSON the rest of the server handles. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new Error('the protobuf body does not start with the k8s magic');
  const unknown = decodeFields(body.subarray(4));
  const typeMeta = sub(unknown, 1);
  const apiVersion = typeMeta ? str(typeMeta, 1) : undefined;
  const kind = typeMeta ? str(typeMeta, 2) : undefined;
  const raw = unknown.get(2)?.[0];
  if (kind !== 'SelfSubjectAccessReview' || !raw) {
    throw new Error(`${kind ?? 'this kind'} in protobuf is not supported by the lab: send application/json`);
  }
  const review = decodeFields(raw);
  const spec = sub(review, 2);
  const resource = spec ? sub(spec, 1) : undefined;
  const nonResource = spec ? sub(spec, 2) : undefined;
  const out: Record<string, unknown> = {};
  if (resource) {
    const names = ['namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
    out.resourceAttributes = Object.fromEntries(names.map((n, i) => [n, str(resource, i + 1)]).filter(([, v]) => v !== undefined));
  }
  if (nonResource) out.nonResourceAttributes = Object.fromEntries([['path', str(nonResource, 1)], ['verb', str(nonResource, 2)]].filter(([, v]) => v !== undefined));
  return { apiVersion: apiVersion ?? 'authorization.k8s.io/v1', kind, metadata: {}, spec: out };
}
