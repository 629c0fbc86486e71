// Every active namespace has a `default` ServiceAccount and the
// `kube-root-ca.crt` ConfigMap, as the real controllers ensure.
import type { Registry } from '../registry';
import type { Controller } from './controller';

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccounts';

  constructor(private readonly caPem: string) {}

  reconcile(registry: Registry): void {
    const sa = registry.type('', 'serviceaccounts');
    const cm = registry.type('', 'configmaps');
    for (const ns of registry.list(registry.type('', 'namespaces'))) {
      if (ns.metadata.deletionTimestamp) continue;
      const namespace = ns.metadata.name;
      if (!registry.find(sa, namespace, 'default')) registry.create(sa, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
      if (!registry.find(cm, namespace, 'kube-root-ca.crt')) {
        registry.create(cm, namespace, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': this.caPem } });
      }
    }
  }
}
