// Field numbers of the Kubernetes messages kubectl sends as protobuf: its
// typed `create` commands (`create service|secret|configmap|namespace|
// serviceaccount|deployment`) and `auth can-i` post
// `application/vnd.kubernetes.protobuf` and cannot be told otherwise. The
// numbers are those of k8s.io/api's generated.proto; only the fields those
// commands fill are listed, the decoder skips the rest. Pure data.

/**
 * How a field becomes JSON. Go encodes every non-pointer field, so the plain
 * scalar types drop the zero value (as JSON's omitempty would); the `opt`
 * types are pointers in Go, present only when set, so their zero is kept.
 */
export type ScalarType = 'string' | 'int' | 'bool' | 'optInt' | 'optBool' | 'optString' | 'intOrString' | 'quantity' | 'stringMap' | 'bytesMap' | 'quantityMap';

export interface FieldSpec {
  name: string;
  type: ScalarType | MessageSchema;
  repeated?: boolean;
}

export interface MessageSchema { [fieldNumber: number]: FieldSpec }

const f = (name: string, type: FieldSpec['type'], repeated = false): FieldSpec => ({ name, type, ...(repeated ? { repeated } : {}) });

const ownerReference: MessageSchema = {
  5: f('apiVersion', 'string'), 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'),
  6: f('controller', 'optBool'), 7: f('blockOwnerDeletion', 'optBool'),
};

export const objectMeta: MessageSchema = {
  1: f('name', 'string'), 2: f('generateName', 'string'), 3: f('namespace', 'string'), 6: f('resourceVersion', 'string'),
  11: f('labels', 'stringMap'), 12: f('annotations', 'stringMap'), 13: f('ownerReferences', ownerReference, true), 14: f('finalizers', 'string', true),
};

const labelSelector: MessageSchema = {
  1: f('matchLabels', 'stringMap'),
  2: f('matchExpressions', { 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) }, true),
};

const localObjectReference: MessageSchema = { 1: f('name', 'string') };

const servicePort: MessageSchema = {
  1: f('name', 'string'), 2: f('protocol', 'string'), 6: f('appProtocol', 'optString'), 3: f('port', 'int'),
  4: f('targetPort', 'intOrString'), 5: f('nodePort', 'int'),
};

const serviceSpec: MessageSchema = {
  1: f('ports', servicePort, true), 2: f('selector', 'stringMap'), 3: f('clusterIP', 'string'), 18: f('clusterIPs', 'string', true),
  4: f('type', 'string'), 5: f('externalIPs', 'string', true), 7: f('sessionAffinity', 'string'), 8: f('loadBalancerIP', 'string'),
  10: f('externalName', 'string'), 11: f('externalTrafficPolicy', 'string'), 13: f('publishNotReadyAddresses', 'bool'),
  19: f('ipFamilies', 'string', true), 17: f('ipFamilyPolicy', 'optString'), 20: f('allocateLoadBalancerNodePorts', 'optBool'),
  22: f('internalTrafficPolicy', 'optString'),
};

const containerPort: MessageSchema = {
  1: f('name', 'string'), 2: f('hostPort', 'int'), 3: f('containerPort', 'int'), 4: f('protocol', 'string'), 5: f('hostIP', 'string'),
};

const container: MessageSchema = {
  1: f('name', 'string'), 2: f('image', 'string'), 3: f('command', 'string', true), 4: f('args', 'string', true), 5: f('workingDir', 'string'),
  6: f('ports', containerPort, true), 7: f('env', { 1: f('name', 'string'), 2: f('value', 'string') }, true),
  8: f('resources', { 1: f('limits', 'quantityMap'), 2: f('requests', 'quantityMap') }),
  13: f('terminationMessagePath', 'string'), 20: f('terminationMessagePolicy', 'string'), 14: f('imagePullPolicy', 'string'),
  16: f('stdin', 'bool'), 17: f('stdinOnce', 'bool'), 18: f('tty', 'bool'),
};

const podSpec: MessageSchema = {
  20: f('initContainers', container, true), 2: f('containers', container, true), 3: f('restartPolicy', 'string'),
  4: f('terminationGracePeriodSeconds', 'optInt'), 6: f('dnsPolicy', 'string'), 7: f('nodeSelector', 'stringMap'),
  8: f('serviceAccountName', 'string'), 9: f('serviceAccount', 'string'), 10: f('nodeName', 'string'), 11: f('hostNetwork', 'bool'),
  15: f('imagePullSecrets', localObjectReference, true), 16: f('hostname', 'string'), 17: f('subdomain', 'string'),
  19: f('schedulerName', 'string'), 30: f('enableServiceLinks', 'optBool'),
};

const podTemplateSpec: MessageSchema = { 1: f('metadata', objectMeta), 2: f('spec', podSpec) };

const deploymentSpec: MessageSchema = {
  1: f('replicas', 'optInt'), 2: f('selector', labelSelector), 3: f('template', podTemplateSpec),
  4: f('strategy', { 1: f('type', 'string'), 2: f('rollingUpdate', { 1: f('maxUnavailable', 'intOrString'), 2: f('maxSurge', 'intOrString') }) }),
  5: f('minReadySeconds', 'int'), 6: f('revisionHistoryLimit', 'optInt'), 7: f('paused', 'bool'), 9: f('progressDeadlineSeconds', 'optInt'),
};

const resourceAttributes: MessageSchema = {
  1: f('namespace', 'string'), 2: f('verb', 'string'), 3: f('group', 'string'), 4: f('version', 'string'),
  5: f('resource', 'string'), 6: f('subresource', 'string'), 7: f('name', 'string'),
};

/** Top-level messages by kind (the runtime.Unknown's TypeMeta names the kind). */
export const KIND_SCHEMAS: Record<string, MessageSchema> = {
  Service: { 1: f('metadata', objectMeta), 2: f('spec', serviceSpec) },
  Secret: { 1: f('metadata', objectMeta), 5: f('immutable', 'optBool'), 2: f('data', 'bytesMap'), 4: f('stringData', 'stringMap'), 3: f('type', 'string') },
  ConfigMap: { 1: f('metadata', objectMeta), 4: f('immutable', 'optBool'), 2: f('data', 'stringMap'), 3: f('binaryData', 'bytesMap') },
  Namespace: { 1: f('metadata', objectMeta), 2: f('spec', { 1: f('finalizers', 'string', true) }) },
  ServiceAccount: { 1: f('metadata', objectMeta), 3: f('imagePullSecrets', localObjectReference, true), 4: f('automountServiceAccountToken', 'optBool') },
  Deployment: { 1: f('metadata', objectMeta), 2: f('spec', deploymentSpec) },
  SelfSubjectAccessReview: {
    1: f('metadata', objectMeta),
    2: f('spec', { 1: f('resourceAttributes', resourceAttributes), 2: f('nonResourceAttributes', { 1: f('path', 'string'), 2: f('verb', 'string') }) }),
  },
};

/** apiVersion per kind, for bodies whose TypeMeta leaves it out. */
export const KIND_API_VERSIONS: Record<string, string> = {
  Service: 'v1', Secret: 'v1', ConfigMap: 'v1', Namespace: 'v1', ServiceAccount: 'v1', Deployment: 'apps/v1',
  SelfSubjectAccessReview: 'authorization.k8s.io/v1',
};
