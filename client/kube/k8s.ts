// The only parts of @kubernetes/client-node the clients use. Loaded with
// `await import('./k8s')`: naming them here (rather than importing the whole
// package namespace dynamically) lets the bundler leave the other ~300 API
// classes out, which keeps the extension bundle small and quick to load.
export { AppsV1Api, ApisApi, CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer } from '@kubernetes/client-node';
