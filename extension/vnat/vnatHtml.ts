// The VNAT view's HTML: a strict Content-Security-Policy (scripts and styles
// only with this load's nonce, nothing from the network), theme colours
// from VS Code's CSS variables. Pure.

export interface VnatHtmlInputs {
  nonce: string;
  /** webview.cspSource */
  cspSource: string;
  scriptUri: string;
}

export function vnatViewHtml({ nonce, cspSource, scriptUri }: VnatHtmlInputs): string {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>VNAT mappings</title>
<style nonce="${nonce}">
  body { padding: 0 8px 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
  header { display: flex; gap: 8px; align-items: center; position: sticky; top: 0; padding: 6px 0; background: var(--vscode-sideBar-background, var(--vscode-editor-background)); z-index: 1; }
  #filter { flex: 1; }
  #summary { color: var(--vscode-descriptionForeground); margin: 2px 0 6px; }
  #message { color: var(--vscode-descriptionForeground); padding: 8px 0; line-height: 1.5; }
  #message vscode-button { margin-top: 8px; }
  vscode-data-grid-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  vscode-data-grid-row:hover { background: var(--vscode-list-hoverBackground); }
  vscode-data-grid-cell:focus-visible, vscode-button:focus-visible { outline: 1px solid var(--vscode-focusBorder); }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<header>
  <vscode-text-field id="filter" placeholder="Filter by IP, name, workload, env var" aria-label="Filter VNAT mappings"></vscode-text-field>
</header>
<div id="message" role="status" aria-live="polite">
  <div id="message-text"></div>
  <vscode-button id="connect">Connect</vscode-button>
</div>
<section id="table" hidden>
  <div id="summary" role="status" aria-live="polite"></div>
  <vscode-data-grid id="grid" aria-label="VNAT mappings: real IP to virtual IP"></vscode-data-grid>
</section>
<script nonce="${nonce}" src="${scriptUri}"></script>
</body>
</html>`;
}
