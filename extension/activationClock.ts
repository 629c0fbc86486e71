// Imported first by extension.ts: the time the bundle started evaluating, so
// activation can report its own cost (VS Code's Running Extensions view
// shows the host-measured figure, which also counts loading the file).
export const moduleStart = performance.now();
