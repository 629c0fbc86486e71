// The VNAT mappings sidebar (browser bundle). Renders what the extension
// posts; every action goes back as a message. Built from the webview UI
// toolkit so it follows the theme and is keyboard accessible. Rows come as
// deltas (VnatRowModel) and the grid is patched, not rebuilt: a row's
// element is kept while it stays in view and its cells are rewritten only
// when its mapping changed.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDataGrid, vsCodeDataGridCell, vsCodeDataGridRow, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { FromWebview, ToWebview } from './vnatMessages';
import { MAX_RENDERED_ROWS, VnatRowModel } from './vnatModel';
import { summaryText, type VnatRow } from './vnatRows';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDataGrid(), vsCodeDataGridRow(), vsCodeDataGridCell(), vsCodeTextField());

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void; getState(): unknown; setState(s: unknown): void };
const vscode = acquireVsCodeApi();

const COLUMNS: Array<{ title: string; value: (r: VnatRow) => string; width: string }> = [
  { title: 'Real IP', value: (r) => r.realIp, width: '1fr' },
  { title: 'Virtual IP', value: (r) => r.virtualIp, width: '1fr' },
  { title: 'Workload / Service', value: (r) => r.target, width: '1.4fr' },
  { title: 'DNS names', value: (r) => r.names, width: '1.4fr' },
  { title: 'Env vars', value: (r) => r.envVars, width: '1fr' },
  { title: 'Flows', value: (r) => String(r.flows), width: '0.5fr' },
  { title: 'Bytes', value: (r) => r.bytes, width: '1.2fr' },
];

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const filter = el<HTMLInputElement>('filter');
const grid = el<HTMLElement>('grid');
const summary = el<HTMLElement>('summary');
const message = el<HTMLElement>('message');
const messageText = el<HTMLElement>('message-text');
const connectButton = el<HTMLElement>('connect');
const table = el<HTMLElement>('table');

const model = new VnatRowModel();
let state: Extract<ToWebview, { type: 'state' }> = { type: 'state', connection: 'no-daemon' };
const saved = vscode.getState() as { query?: string } | undefined;
filter.value = saved?.query ?? '';

/** Rows in the grid by key, with the row they show (compared by identity: the model makes a new one on change). */
const rendered = new Map<string, { el: HTMLElement; row: VnatRow }>();
const header = document.createElement('vscode-data-grid-row');
header.setAttribute('row-type', 'header');
COLUMNS.forEach((c, i) => header.appendChild(cell(c.title, i + 1, true)));
header.appendChild(cell('', COLUMNS.length + 1, true));
grid.setAttribute('grid-template-columns', `${COLUMNS.map((c) => c.width).join(' ')} 5.5em`);
grid.appendChild(header);

function cell(text: string, column: number, isHeader = false): HTMLElement {
  const c = document.createElement('vscode-data-grid-cell');
  c.setAttribute('grid-column', String(column));
  if (isHeader) c.setAttribute('cell-type', 'columnheader');
  c.textContent = text;
  c.title = text;
  return c;
}

function actionButton(label: string, title: string, onClick: () => void): HTMLElement {
  const b = document.createElement('vscode-button');
  b.setAttribute('appearance', 'icon');
  b.setAttribute('aria-label', title);
  b.title = title;
  b.textContent = label;
  b.addEventListener('click', (e) => { e.stopPropagation(); onClick(); });
  b.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); e.stopPropagation(); onClick(); } });
  return b;
}

function createRow(r: VnatRow): HTMLElement {
  const row = document.createElement('vscode-data-grid-row');
  row.dataset.key = r.key;
  COLUMNS.forEach((c, i) => row.appendChild(cell(c.value(r), i + 1)));
  const actions = cell('', COLUMNS.length + 1);
  // Read the row at click time: the element outlives changes to its mapping.
  const current = () => rendered.get(r.key)?.row ?? r;
  actions.appendChild(actionButton('⧉', `Copy ${r.realIp} → ${r.virtualIp}`, () => { const x = current(); vscode.postMessage({ type: 'copy', text: `${x.virtualIp}\t${x.realIp}\t${x.target}\t${x.names}` }); }));
  actions.appendChild(actionButton('↗', `Reveal ${r.target || r.realIp} in the Telepresence tree`, () => { const x = current(); vscode.postMessage({ type: 'reveal', realIp: x.realIp, virtualIp: x.virtualIp }); }));
  row.appendChild(actions);
  return row;
}

function updateRow(el: HTMLElement, r: VnatRow): void {
  COLUMNS.forEach((c, i) => {
    const text = c.value(r);
    const cellEl = el.children[i] as HTMLElement | undefined;
    if (cellEl && cellEl.textContent !== text) { cellEl.textContent = text; cellEl.title = text; }
  });
}

function render(): void {
  const query = filter.value;
  const view = model.view(query, MAX_RENDERED_ROWS);
  const total = view.total;
  const connected = state.connection === 'connected';
  table.hidden = !connected || total === 0;
  message.hidden = connected && total > 0;
  connectButton.hidden = connected || state.connection === 'connecting';
  messageText.textContent =
    state.connection === 'no-daemon' ? 'The Telepresence daemon is not running. Connect to a cluster to see VNAT mappings.'
    : state.connection === 'disconnected' ? 'Not connected. Connect to a cluster to see VNAT mappings.'
    : state.connection === 'connecting' ? 'Connecting…'
    : 'No VNAT mappings yet. They appear when a name in a VNAT subnet is resolved (for example `curl echo.default`).';
  document.body.dataset.connection = state.connection;
  summary.textContent = connected ? `${state.target ? `${state.target}: ` : ''}${summaryText(total, view.matched, query, view.rows.length)}` : '';

  // Patch the grid: keep, update, move, add and drop row elements; never rebuild it.
  const keep = new Set<string>();
  let prev: Element = header;
  for (const r of view.rows) {
    let entry = rendered.get(r.key);
    if (!entry) {
      entry = { el: createRow(r), row: r };
      rendered.set(r.key, entry);
    } else if (entry.row !== r) {
      updateRow(entry.el, r);
      entry.row = r;
    }
    keep.add(r.key);
    if (prev.nextElementSibling !== entry.el) prev.after(entry.el);
    prev = entry.el;
  }
  for (const [key, entry] of rendered) {
    if (!keep.has(key)) { entry.el.remove(); rendered.delete(key); }
  }
}

/** Renders once per frame however many messages arrive in it. */
let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

filter.addEventListener('input', () => {
  vscode.setState({ query: filter.value });
  render();
});
connectButton.addEventListener('click', () => vscode.postMessage({ type: 'connect' }));

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const data = event.data as { type?: unknown } | undefined;
  if (data?.type === 'state') {
    state = data as Extract<ToWebview, { type: 'state' }>;
  } else if (data?.type === 'mappings') {
    const m = data as Extract<ToWebview, { type: 'mappings' }>;
    if (!Array.isArray(m.upserts)) return;
    model.apply({ full: m.full === true, upserts: m.upserts, removed: Array.isArray(m.removed) ? m.removed : [] });
  } else {
    return;
  }
  scheduleRender();
});

render();
vscode.postMessage({ type: 'ready' });
