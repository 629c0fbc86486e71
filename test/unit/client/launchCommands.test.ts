import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appleScriptString, buildLaunchCommand, classifyElevationExit, daemonArgs, defaultLauncherKind, shellQuote, windowsQuote, type DaemonLaunchSpec,
} from '../../../client/daemon/launchCommands';

const spec: DaemonLaunchSpec = {
  nodePath: "/opt/VS Code/code's",
  daemonScript: '/home/u/.vscode/extensions/tpv-0.1.0/dist/daemon.js',
  socketPath: '/var/run/telepresence-vscode/daemon.sock',
  ownerUid: 1000,
  ownerGid: 1001,
  logLevel: 'debug',
};

test('daemon arguments name the socket and the owner', () => {
  assert.deepEqual(daemonArgs(spec), [spec.daemonScript, '--socket', spec.socketPath, '--owner-uid', '1000', '--owner-gid', '1001', '--log-level', 'debug']);
});

test('direct: the host Node runs the daemon as node (ELECTRON_RUN_AS_NODE)', () => {
  const c = buildLaunchCommand('direct', spec, 'linux');
  assert.equal(c.file, spec.nodePath);
  assert.deepEqual(c.args, daemonArgs(spec));
  assert.equal(c.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(c.longLived, true);
});

test('pkexec: env restores ELECTRON_RUN_AS_NODE behind pkexec, which clears the environment', () => {
  const c = buildLaunchCommand('pkexec', spec, 'linux');
  assert.equal(c.file, 'pkexec');
  assert.deepEqual(c.args.slice(0, 3), ['/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', spec.nodePath]);
  assert.deepEqual(c.args.slice(3), daemonArgs(spec));
});

test('sudo: the terminal line survives a shell round trip, backgrounds and detaches from the terminal', () => {
  const c = buildLaunchCommand('sudo', spec, 'linux');
  assert.ok(c.shellLine);
  assert.match(c.shellLine, /^sudo -b -- setsid /);
  // Let a real shell split the line (with sudo replaced by a printer) and compare the words.
  const words = execFileSync('sh', ['-c', `set -- ${c.shellLine!.replace(/ <\/dev\/null.*$/, '')}; shift; for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' })
    .split('\0').filter((w) => w !== '');
  assert.deepEqual(words, ['-b', '--', 'setsid', '/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', spec.nodePath, ...daemonArgs(spec)]);
  assert.ok(!buildLaunchCommand('sudo', spec, 'darwin').args.includes('setsid'), 'macOS has no setsid');
});

test('osascript: one AppleScript string with the quoted shell line, run in the background', () => {
  const c = buildLaunchCommand('osascript', spec, 'darwin');
  assert.equal(c.file, '/usr/bin/osascript');
  assert.equal(c.args[0], '-e');
  const script = c.args[1]!;
  assert.match(script, /^do shell script ".*" with administrator privileges$/);
  const inner = script.slice('do shell script '.length, script.length - ' with administrator privileges'.length);
  // Undo the AppleScript escaping and check the shell words.
  const line = inner.slice(1, -1).replace(/\\(["\\])/g, '$1');
  assert.match(line, /^ELECTRON_RUN_AS_NODE=1 '\/opt\/VS Code\/code'\\''s' .* &$/);
  assert.ok(line.includes(`--socket ${spec.socketPath}`));
  assert.equal(c.longLived, false);
});

test('runas: PowerShell Start-Process -Verb RunAs through cmd so the variable reaches the daemon', () => {
  const win: DaemonLaunchSpec = { ...spec, nodePath: 'C:\\Program Files\\Microsoft VS Code\\Code.exe', daemonScript: 'C:\\Users\\me\\ext\\dist\\daemon.js', socketPath: '\\\\.\\pipe\\telepresence-vscode' };
  const c = buildLaunchCommand('runas', win, 'win32');
  assert.equal(c.file, 'powershell.exe');
  const cmd = c.args.at(-1)!;
  assert.match(cmd, /^Start-Process -FilePath 'cmd\.exe' -ArgumentList '.*' -Verb RunAs -WindowStyle Hidden$/);
  assert.ok(cmd.includes('set ELECTRON_RUN_AS_NODE=1&& "C:\\Program Files\\Microsoft VS Code\\Code.exe" C:\\Users\\me\\ext\\dist\\daemon.js'));
});

test('quoting helpers', () => {
  assert.equal(shellQuote('plain/path-1.js'), 'plain/path-1.js');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote(''), "''");
  assert.equal(appleScriptString('say "hi" \\ there'), '"say \\"hi\\" \\\\ there"');
  assert.equal(windowsQuote('a b'), '"a b"');
  assert.equal(windowsQuote('say "x"'), '"say \\"x\\""');
  assert.equal(windowsQuote('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
});

test('a dismissed prompt is told apart from a failure', () => {
  assert.equal(classifyElevationExit('pkexec', 126, ''), 'cancelled');
  assert.equal(classifyElevationExit('pkexec', 127, 'Not authorized'), 'cancelled');
  assert.equal(classifyElevationExit('pkexec', 127, 'Error executing command as another user: No authentication agent found.'), 'no-agent');
  assert.equal(classifyElevationExit('pkexec', 1, 'daemon: unknown option'), 'failed');
  assert.equal(classifyElevationExit('osascript', 1, '0:78: execution error: User canceled. (-128)'), 'cancelled');
  assert.equal(classifyElevationExit('osascript', 1, 'execution error: some other failure (-1)'), 'failed');
  assert.equal(classifyElevationExit('runas', 1, 'This command cannot be run due to the error: The operation was canceled by the user.'), 'cancelled');
  assert.equal(classifyElevationExit('sudo', 1, 'sudo: 3 incorrect password attempts'), 'cancelled');
  assert.equal(classifyElevationExit('direct', 1, 'boom'), 'failed');
  assert.equal(classifyElevationExit('pkexec', 0, ''), 'ok');
});

test('launcher choice per platform', () => {
  assert.equal(defaultLauncherKind('linux', 0), 'direct');
  assert.equal(defaultLauncherKind('linux', 1000), 'pkexec');
  assert.equal(defaultLauncherKind('darwin', 501), 'osascript');
  assert.equal(defaultLauncherKind('win32', undefined), 'runas');
});
