// Endpoints and EndpointSlices of every service with a selector (from
// backing pods), EndpointSlices mirrored from the hand-written Endpoints of
// selector-less services (kubernetes, kube-dns), and removal of both when
// their service goes away.
import { controllerRef, randomSuffix, type KubeObject } from '../objects';
import type { Registry } from '../registry';
import type { Controller } from './controller';
import { backendsOf, endpointSubsets, sliceContent } from './endpointAddresses';

const SERVICE_NAME = 'kubernetes.io/service-name';
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
const MIRROR_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';

export class EndpointsController implements Controller {
  readonly name = 'endpoints';

  reconcile(registry: Registry): void {
    const svcType = registry.type('', 'services');
    const epType = registry.type('', 'endpoints');
    const sliceType = registry.type('discovery.k8s.io', 'endpointslices');
    const services = registry.list(svcType);
    const pods = registry.list(registry.type('', 'pods'));
    const byKey = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));

    for (const svc of services) {
      const selected = !!svc.spec?.selector && Object.keys(svc.spec.selector).length > 0;
      if (selected) {
        const backends = backendsOf(svc, pods);
        const subsets = endpointSubsets(svc, backends);
        const cur = registry.find(epType, svc.metadata.namespace, svc.metadata.name);
        const labels = { ...svc.metadata.labels, 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };
        if (!cur) {
          registry.create(epType, svc.metadata.namespace, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, labels }, ...(subsets.length ? { subsets } : {}) });
        } else if (JSON.stringify(cur.subsets ?? []) !== JSON.stringify(subsets)) {
          if (subsets.length) cur.subsets = subsets; else delete cur.subsets;
          registry.write(epType, cur);
        }
        this.syncSlice(registry, svc, sliceContent(svc, backends), SLICE_CONTROLLER);
      } else {
        const ep = registry.find(epType, svc.metadata.namespace, svc.metadata.name);
        if (ep) this.syncSlice(registry, svc, mirrored(ep), MIRROR_CONTROLLER);
      }
    }
    for (const ep of registry.list(epType)) {
      if (!byKey.has(`${ep.metadata.namespace}/${ep.metadata.name}`) && ep.metadata.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller') {
        registry.delete(epType, ep.metadata.namespace, ep.metadata.name, {});
      }
    }
    for (const slice of registry.list(sliceType)) {
      const owner = slice.metadata.labels?.[SERVICE_NAME];
      if (owner && !byKey.has(`${slice.metadata.namespace}/${owner}`)) registry.delete(sliceType, slice.metadata.namespace, slice.metadata.name, {});
    }
  }

  private syncSlice(registry: Registry, svc: KubeObject, content: { endpoints: unknown[]; ports: unknown[] }, managedBy: string): void {
    const sliceType = registry.type('discovery.k8s.io', 'endpointslices');
    const existing = registry.list(sliceType, svc.metadata.namespace).filter((s) => s.metadata.labels?.[SERVICE_NAME] === svc.metadata.name);
    const cur = existing[0];
    if (!cur) {
      registry.create(sliceType, svc.metadata.namespace, {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { name: `${svc.metadata.name}-${randomSuffix()}`, labels: { ...svc.metadata.labels, [SERVICE_NAME]: svc.metadata.name, [MANAGED_BY]: managedBy }, ownerReferences: [controllerRef(svc)] },
        addressType: 'IPv4', endpoints: content.endpoints, ports: content.ports,
      });
      return;
    }
    if (JSON.stringify(cur.endpoints ?? []) !== JSON.stringify(content.endpoints) || JSON.stringify(cur.ports ?? []) !== JSON.stringify(content.ports)) {
      cur.endpoints = content.endpoints;
      cur.ports = content.ports;
      registry.write(sliceType, cur);
    }
  }
}

function mirrored(ep: KubeObject): { endpoints: unknown[]; ports: unknown[] } {
  const subsets = (ep.subsets ?? []) as Array<{ addresses?: Array<{ ip: string; hostname?: string; nodeName?: string; targetRef?: unknown }>; notReadyAddresses?: Array<{ ip: string }>; ports?: unknown[] }>;
  const endpoints: unknown[] = [];
  for (const s of subsets) {
    for (const a of s.addresses ?? []) endpoints.push({ addresses: [a.ip], conditions: { ready: true, serving: true, terminating: false }, ...(a.hostname ? { hostname: a.hostname } : {}), ...(a.nodeName ? { nodeName: a.nodeName } : {}), ...(a.targetRef ? { targetRef: a.targetRef } : {}) });
    for (const a of s.notReadyAddresses ?? []) endpoints.push({ addresses: [a.ip], conditions: { ready: false, serving: false, terminating: false } });
  }
  return { endpoints, ports: subsets[0]?.ports ?? [] };
}
