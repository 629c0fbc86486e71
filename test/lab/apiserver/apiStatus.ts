// Kubernetes `Status` objects and the error type handlers throw to produce
// them, so every failure reaches the client with the code, reason and
// message a real API server would send (clients branch on reason/code).

export type StatusReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unauthorized' | 'BadRequest' | 'MethodNotAllowed' | 'InternalError' | 'Gone' | 'UnsupportedMediaType' | 'NotAcceptable';

export interface StatusCause { reason?: string; message: string; field?: string }

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

const CODES: Record<StatusReason, number> = {
  NotFound: 404, AlreadyExists: 409, Conflict: 409, Invalid: 422, Forbidden: 403, Unauthorized: 401,
  BadRequest: 400, MethodNotAllowed: 405, InternalError: 500, Gone: 410, UnsupportedMediaType: 415, NotAcceptable: 406,
};

export class ApiStatusError extends Error {
  readonly code: number;
  constructor(readonly reason: StatusReason, message: string, readonly details?: StatusObject['details']) {
    super(message);
    this.code = CODES[reason];
  }

  toStatus(): StatusObject {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

/** `pods "x" not found` / `deployments.apps "x" not found`, as the real server words it. */
export function notFound(resource: string, group: string, name: string): ApiStatusError {
  return new ApiStatusError('NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource });
}

export function alreadyExists(resource: string, group: string, name: string): ApiStatusError {
  return new ApiStatusError('AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource });
}

export function conflict(resource: string, group: string, name: string): ApiStatusError {
  return new ApiStatusError('Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group, kind: resource });
}

/** 422 with field causes; `kind` is the object's Kind (`Service "x" is invalid: ...`). */
export function invalid(kind: string, group: string, name: string, causes: Array<{ field: string; message: string; value?: unknown }>): ApiStatusError {
  const text = causes.map((c) => `${c.field}: ${c.value !== undefined ? `Invalid value: ${JSON.stringify(c.value)}: ` : ''}${c.message}`).join(', ');
  return new ApiStatusError('Invalid', `${kind} "${name}" is invalid: ${text}`, {
    name, group, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: `${c.value !== undefined ? `Invalid value: ${JSON.stringify(c.value)}: ` : ''}${c.message}`, field: c.field })),
  });
}

export function badRequest(message: string): ApiStatusError {
  return new ApiStatusError('BadRequest', message);
}

export function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function successStatus(details?: StatusObject['details']): StatusObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}
