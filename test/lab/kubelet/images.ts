// Which images the lab can "pull". There is no registry: `lab/echo` is the
// lab's own echo server and `node:*` is the host's node binary running the
// container's command. Anything else fails the way a real pull failure does.

export type ResolvedImage =
  | { kind: 'echo' }
  | { kind: 'node' }
  | { kind: 'unavailable'; reason: 'ErrImagePull'; message: string };

function repository(image: string): string {
  // Drop digest and tag, then the registry and `library/` of Docker Hub references.
  let repo = image.split('@')[0]!;
  const lastSlash = repo.lastIndexOf('/');
  const colon = repo.lastIndexOf(':');
  if (colon > lastSlash) repo = repo.slice(0, colon);
  return repo.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
}

export function resolveImage(image: string | undefined): ResolvedImage {
  const repo = repository(image ?? '');
  if (repo === 'lab/echo') return { kind: 'echo' };
  if (repo === 'node') return { kind: 'node' };
  return {
    kind: 'unavailable',
    reason: 'ErrImagePull',
    message: `Failed to pull image "${image ?? ''}": the lab runs only lab/echo and node:* images (no registry is reachable)`,
  };
}

/**
 * The argv a container runs: for `node` images the container's command and
 * args (the image's default command is `node`), with `node` meaning the
 * host's node binary; for `lab/echo` the echo server unless a command is given.
 */
export function containerArgv(
  image: ResolvedImage,
  command: string[],
  args: string[],
  nodeBinary: string,
  echoServer: string[],
): string[] {
  let argv: string[];
  if (command.length > 0) argv = [...command, ...args];
  else if (image.kind === 'echo') argv = [...echoServer, ...args];
  else argv = ['node', ...args];
  if (argv[0] === 'node' || argv[0] === '/usr/local/bin/node') argv[0] = nodeBinary;
  return argv;
}
