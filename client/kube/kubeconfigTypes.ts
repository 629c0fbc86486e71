// The kubeconfig file format as kubectl writes it (the subset this project reads).

export interface RawCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  [key: string]: unknown;
}

export interface RawExec {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
  [key: string]: unknown;
}

export interface RawUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: RawExec;
  'auth-provider'?: { name: string; config?: Record<string, string> };
  [key: string]: unknown;
}

export interface RawContext {
  cluster: string;
  user: string;
  namespace?: string;
  [key: string]: unknown;
}

export interface RawKubeconfig {
  apiVersion?: string;
  kind?: string;
  'current-context'?: string;
  clusters?: Array<{ name: string; cluster: RawCluster }>;
  users?: Array<{ name: string; user: RawUser }>;
  contexts?: Array<{ name: string; context: RawContext }>;
  preferences?: Record<string, unknown>;
  [key: string]: unknown;
}
