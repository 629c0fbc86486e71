// The Status an exec ends with, worded as the kubelet does, so kubectl
// exits with the command's exit code.
export function execStatus(command: string[], exit: { code: number | null; signal: string | null }): Record<string, unknown> {
  if (exit.code === 0) return { metadata: {}, status: 'Success' };
  const code = exit.code ?? 128 + (exit.signal === 'SIGKILL' ? 9 : 15);
  return {
    metadata: {}, status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}
