// Installs withAgentTlsOptions in front of the extension host's (patched)
// https.request and https.get; see agentTlsOptions.ts for why. Idempotent.
// `import x = require()`: the live module object, which an ES namespace import (a frozen copy once bundled) is not.
import https = require('node:https');
import type { ClientRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { withAgentTlsOptions } from './agentTlsOptions';

const INSTALLED = Symbol.for('telepresence.agentTlsOptions');

type RequestFn = (...args: unknown[]) => ClientRequest;

function wrap(original: RequestFn): RequestFn {
  const wrapped = function (this: unknown, ...args: unknown[]): ClientRequest {
    // Signatures: (options[, cb]) and (url, options[, cb]); only the options object changes.
    const i = args.findIndex((a) => a !== null && typeof a === 'object' && !(a instanceof URL));
    if (i >= 0) args[i] = withAgentTlsOptions(args[i] as RequestOptions);
    return original.apply(this, args);
  };
  (wrapped as unknown as Record<symbol, boolean>)[INSTALLED] = true;
  return wrapped;
}

export function installAgentTlsOptions(): void {
  const mod = https as unknown as { request: RequestFn; get: RequestFn };
  if ((mod.request as unknown as Record<symbol, boolean>)[INSTALLED]) return;
  mod.request = wrap(mod.request);
  mod.get = wrap(mod.get);
}
