// Where a lab keeps its state: /run/tpv-lab/<name>/ (tmpfs-like /run, so a
// reboot forgets labs whose namespaces are gone anyway).
import { join } from 'node:path';

export interface LabFiles {
  dir: string;
  manifest: string;
  info: string;
  kubeconfig: string;
  pkiDir: string;
  controlSocket: string;
  controlPlanePid: string;
  corporatePid: string;
  hostDirs: string;
  logsDir: string;
  controlPlaneLog: string;
  corporateLog: string;
}

export function labFiles(stateDir: string): LabFiles {
  return {
    dir: stateDir,
    manifest: join(stateDir, 'manifest.json'),
    info: join(stateDir, 'lab.json'),
    kubeconfig: join(stateDir, 'kubeconfig'),
    pkiDir: join(stateDir, 'pki'),
    controlSocket: join(stateDir, 'control.sock'),
    controlPlanePid: join(stateDir, 'control-plane.pid'),
    corporatePid: join(stateDir, 'corporate.pid'),
    hostDirs: join(stateDir, 'host-dirs.json'),
    logsDir: join(stateDir, 'logs'),
    controlPlaneLog: join(stateDir, 'logs', 'control-plane.log'),
    corporateLog: join(stateDir, 'logs', 'corporate.log'),
  };
}
