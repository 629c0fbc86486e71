// `npm run e2e:setup`: installs code-server into test/.cache/ (idempotent).
// The e2e tests call the same function themselves, so CI needs nothing extra.
import { ensureCodeServer } from './harness/codeServerInstall';

const install = ensureCodeServer((line) => console.log(line));
console.log(install.installSeconds > 0
  ? `code-server ready after ${install.installSeconds}s, ${install.sizeMiB} MiB`
  : `code-server already installed (${install.sizeMiB} MiB)`);
