#!/usr/bin/env node
// Runnable copy of the lab's exec credential plugin (see execCredentialPlugin.ts,
// whose EXEC_PLUGIN_SOURCE the kubeconfig actually points at, written next to the PKI).
'use strict';
const fs = require('node:fs');
const token = process.env.TPV_LAB_EXEC_TOKEN;
if (!token) {
  process.stderr.write('TPV_LAB_EXEC_TOKEN is not set: use the lab-exec user from the lab kubeconfig, which sets it\n');
  process.exit(1);
}
const log = process.env.TPV_LAB_EXEC_PLUGIN_LOG;
if (log) fs.appendFileSync(log, String(process.getuid ? process.getuid() : -1) + '\n');
const expiration = new Date(Date.now() + 10 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token, expirationTimestamp: expiration },
}) + '\n');
