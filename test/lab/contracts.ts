// The seams between the lab's parts. The API server emulation (test/lab/apiserver)
// knows nothing about namespaces or processes; the lab kubelet
// (test/lab/kubelet) knows nothing about HTTP routing. The lab's main process
// wires them together. Both sides code against these types only.
import type { Duplex, Readable, Writable } from 'node:stream';

/** What the API server asks of the node when a client execs into a pod or forwards a port. */
export interface PodRuntime {
  /**
   * Runs `command` in the container's network namespace with the container's
   * environment. Resolves once the process has started; `exited` settles with
   * the exit code (or a signal name) and stdout/stderr end when it exits.
   */
  exec(req: ExecRequest): Promise<ExecProcess>;
  /** Opens a TCP connection to `port` on the pod's IP (as a kubelet does). */
  portForward(namespace: string, pod: string, port: number): Promise<Duplex>;
}

export interface ExecRequest {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

export interface ExecProcess {
  stdin: Writable | null;
  stdout: Readable;
  stderr: Readable | null;
  exited: Promise<{ code: number | null; signal: string | null }>;
  resize?(cols: number, rows: number): void;
  kill(): void;
}

/** Options of the API server emulation. */
export interface ApiServerOptions {
  /** Address to listen on (inside the lab's node namespace, or loopback in unit tests). */
  host: string;
  port: number;
  serviceCidr: string;
  /** Per node: name and pod CIDR. */
  nodes: Array<{ name: string; podCidr: string; internalIp: string }>;
  /** Directory holding (or receiving) the CA, server and client certificates. */
  pkiDir: string;
  podRuntime: PodRuntime;
}

export interface ApiServerHandle {
  /** https://host:port */
  url: string;
  /** PEM of the CA that signed the serving certificate and the client certificates. */
  caPem: string;
  /** Writes a kubeconfig with the admin (client certificate), limited-token and exec-plugin users. */
  writeKubeconfig(path: string, serverUrl?: string): void;
  /**
   * Restarts the API server as a new kube-apiserver process would come up
   * over the same etcd: the listener closes and every connection (watches,
   * exec, port-forward) is cut, connections are refused for `downMs`, then it
   * listens again on the same address with the same certificates. Objects and
   * resourceVersions survive; the watch history does not (watches from before
   * the restart get 410 Gone). Resolves once it listens again. Optional:
   * stand-ins used to test the node side need not implement it.
   */
  restart?(opts: { downMs: number }): Promise<ApiServerRestart>;
  close(): Promise<void>;
}

export interface ApiServerRestart {
  /** Epoch ms at which the listener closed and every connection was cut. */
  downAt: number;
  /** Epoch ms at which the new listener accepted connections again. */
  upAt: number;
  /** Client connections cut (idle keep-alive ones included). */
  connectionsCut: number;
  /** The revision the new server started at: watches from it on are served, older ones get 410 Gone. */
  resourceVersion: string;
}
