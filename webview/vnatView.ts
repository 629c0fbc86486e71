// The VNAT mappings sidebar (browser bundle). Renders what the extension
// posts; every action goes back as a message. Built from the webview UI
// toolkit so it follows the theme and is keyboard accessible.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDataGrid, vsCodeDataGridCell, vsCodeDataGridRow, vsCodeTextField } from '@vscode/webview-ui-toolkit';
import type { FromWebview, ToWebview } from './vnatMessages';
import { filterRows, summaryText, toRows, type VnatRow } from './vnatRows';

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

let rows: VnatRow[] = [];
let state: ToWebview = { type: 'state', connection: 'no-daemon', mappings: [] };
const saved = vscode.getState() as { query?: string } | undefined;
filter.value = saved?.query ?? '';

function cell(text: string, column: number, header = false): HTMLElement {
  const c = document.createElement('vscode-data-grid-cell');
  c.setAttribute('grid-column', String(column));
  if (header) c.setAttribute('cell-type', 'columnheader');
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

function render(): void {
  const query = filter.value;
  const shown = filterRows(rows, query);
  const connected = state.connection === 'connected';
  table.hidden = !connected || rows.length === 0;
  message.hidden = connected && rows.length > 0;
  connectButton.hidden = connected || state.connection === 'connecting';
  messageText.textContent =
    state.connection === 'no-daemon' ? 'The Telepresence daemon is not running. Connect to a cluster to see VNAT mappings.'
    : state.connection === 'disconnected' ? 'Not connected. Connect to a cluster to see VNAT mappings.'
    : state.connection === 'connecting' ? 'Connecting…'
    : 'No VNAT mappings yet. They appear when a name in a VNAT subnet is resolved (for example `curl echo.default`).';
  document.body.dataset.connection = state.connection;
  summary.textContent = connected ? `${state.target ? `${state.target}: ` : ''}${summaryText(rows.length, shown.length, query)}` : '';

  grid.replaceChildren();
  grid.setAttribute('grid-template-columns', `${COLUMNS.map((c) => c.width).join(' ')} 5.5em`);
  const header = document.createElement('vscode-data-grid-row');
  header.setAttribute('row-type', 'header');
  COLUMNS.forEach((c, i) => header.appendChild(cell(c.title, i + 1, true)));
  header.appendChild(cell('', COLUMNS.length + 1, true));
  grid.appendChild(header);
  for (const r of shown) {
    const row = document.createElement('vscode-data-grid-row');
    row.dataset.key = r.key;
    COLUMNS.forEach((c, i) => row.appendChild(cell(c.value(r), i + 1)));
    const actions = cell('', COLUMNS.length + 1);
    actions.appendChild(actionButton('⧉', `Copy ${r.realIp} → ${r.virtualIp}`, () => vscode.postMessage({ type: 'copy', text: `${r.virtualIp}\t${r.realIp}\t${r.target}\t${r.names}` })));
    actions.appendChild(actionButton('↗', `Reveal ${r.target || r.realIp} in the Telepresence tree`, () => vscode.postMessage({ type: 'reveal', realIp: r.realIp, virtualIp: r.virtualIp })));
    row.appendChild(actions);
    grid.appendChild(row);
  }
}

filter.addEventListener('input', () => {
  vscode.setState({ query: filter.value });
  render();
});
connectButton.addEventListener('click', () => vscode.postMessage({ type: 'connect' }));

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const data = event.data as Partial<ToWebview> | undefined;
  if (!data || data.type !== 'state' || !Array.isArray(data.mappings)) return;
  state = data as ToWebview;
  rows = toRows(state.mappings);
  render();
});

render();
vscode.postMessage({ type: 'ready' });
