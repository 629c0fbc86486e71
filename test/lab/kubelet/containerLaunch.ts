// How a container process is started: `ip netns exec` puts it into the pod's
// network namespace and a private (slave) mount namespace, `unshare --uts`
// gives it the pod's hostname, and a small shell prologue mounts the volumes
// before exec'ing the container's command. Mounts therefore exist only inside
// the container's mount namespace and vanish with its last process.
//
// A mount target that does not exist on the host is created inside an
// overlay of its nearest existing ancestor (only the container sees the new
// directory). An ancestor of `/` cannot be overlaid in place; such targets are
// created on the host and listed in `hostDirs` so the kubelet removes them.
import { dirname } from 'node:path';

export interface VolumeMount {
  /** Directory or file on the host holding the volume's contents. */
  source: string;
  target: string;
  readOnly: boolean;
  sourceIsFile: boolean;
}

export type MountOp =
  | { op: 'overlay'; dir: string; upper: string; work: string }
  | { op: 'mkdir'; path: string }
  | { op: 'touch'; path: string }
  | { op: 'bind'; source: string; target: string }
  | { op: 'ro'; target: string };

export interface MountPlan {
  ops: MountOp[];
  /** Directories to create on the host before start (outermost first); remove them innermost first afterwards. */
  hostDirs: string[];
  /** Upper/work directory pairs to create (empty) before start. */
  overlayDirs: string[];
}

function nearestExisting(path: string, exists: (p: string) => boolean): string {
  let p = path;
  while (p !== '/' && !exists(p)) p = dirname(p);
  return p;
}

export function planMounts(mounts: VolumeMount[], exists: (p: string) => boolean, overlayBase: string): MountPlan {
  const plan: MountPlan = { ops: [], hostDirs: [], overlayDirs: [] };
  const overlaid = new Set<string>();
  const creations: MountOp[] = [];
  for (const m of mounts) {
    if (exists(m.target)) continue;
    const ancestor = nearestExisting(dirname(m.target), exists);
    if (ancestor === '/') {
      // Create the missing chain on the host (outermost first); a file target's own node is made in the overlay-free way too.
      const chain: string[] = [];
      for (let p = m.sourceIsFile ? dirname(m.target) : m.target; p !== '/' && !exists(p); p = dirname(p)) chain.unshift(p);
      for (const d of chain) if (!plan.hostDirs.includes(d)) plan.hostDirs.push(d);
      if (m.sourceIsFile) creations.push({ op: 'touch', path: m.target });
      continue;
    }
    if (!overlaid.has(ancestor)) {
      overlaid.add(ancestor);
      const n = overlaid.size;
      const upper = `${overlayBase}/${n}/upper`;
      const work = `${overlayBase}/${n}/work`;
      plan.overlayDirs.push(upper, work);
      plan.ops.push({ op: 'overlay', dir: ancestor, upper, work });
    }
    if (m.sourceIsFile) creations.push({ op: 'mkdir', path: dirname(m.target) }, { op: 'touch', path: m.target });
    else creations.push({ op: 'mkdir', path: m.target });
  }
  plan.ops.push(...creations);
  for (const m of mounts) {
    plan.ops.push({ op: 'bind', source: m.source, target: m.target });
    if (m.readOnly) plan.ops.push({ op: 'ro', target: m.target });
  }
  return plan;
}

// Kept in POSIX sh so that starting a container costs no extra node process.
const PROLOGUE = [
  'set -e',
  'hostname "$1"; shift',
  'while [ "$1" != "--" ]; do',
  '  case "$1" in',
  '    overlay) mount -t overlay overlay -o "lowerdir=$2,upperdir=$3,workdir=$4" "$2"; shift 4;;',
  '    mkdir) mkdir -p "$2"; shift 2;;',
  '    touch) [ -e "$2" ] || : > "$2"; shift 2;;',
  '    bind) mount --bind "$2" "$3"; shift 3;;',
  '    ro) mount -o remount,bind,ro "$2"; shift 2;;',
  '    cd) cd "$2"; shift 2;;',
  '    *) echo "lab kubelet: bad launch op $1" >&2; exit 127;;',
  '  esac',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

export interface LaunchSpec {
  netns: string;
  hostname: string;
  ops: MountOp[];
  workingDir?: string;
  argv: string[];
}

/** The `ip` command line that starts the container; its PID is the container's main process (everything execs). */
export function launchCommand(spec: LaunchSpec): { file: string; args: string[] } {
  const opArgs: string[] = [];
  for (const o of spec.ops) {
    switch (o.op) {
      case 'overlay': opArgs.push('overlay', o.dir, o.upper, o.work); break;
      case 'mkdir': opArgs.push('mkdir', o.path); break;
      case 'touch': opArgs.push('touch', o.path); break;
      case 'bind': opArgs.push('bind', o.source, o.target); break;
      case 'ro': opArgs.push('ro', o.target); break;
    }
  }
  if (spec.workingDir) opArgs.push('cd', spec.workingDir);
  return {
    file: 'ip',
    args: ['netns', 'exec', spec.netns, 'unshare', '--uts', '--', '/bin/sh', '-c', PROLOGUE, 'lab-container', spec.hostname, ...opArgs, '--', ...spec.argv],
  };
}
