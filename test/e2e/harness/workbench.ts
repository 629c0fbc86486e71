// Drives the VS Code workbench that code-server serves, in Debian's
// Chromium (headless) through playwright-core: palette commands, the status
// bar, tree items, the webview's grid (two nested iframes) and screenshots.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const ARTIFACTS_DIR = join(__dirname, '..', '..', 'artifacts');
const CHROMIUM = process.env.TPV_E2E_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface WorkbenchOptions {
  /** Start Chromium inside this network namespace too (code-server then listens there). */
  netns?: string;
  viewport?: { width: number; height: number };
}

export class Workbench {
  private constructor(readonly context: BrowserContext, private currentPage: Page, private readonly profileDir: string) {}

  /** The window the helpers drive (replaced by openWindow). */
  get page(): Page { return this.currentPage; }

  static async open(url: string, opts: WorkbenchOptions = {}): Promise<Workbench> {
    const profileDir = mkdtempSync(join(tmpdir(), 'tpv-e2e-chromium-'));
    let executablePath = CHROMIUM;
    if (opts.netns) {
      // Chromium talks to playwright over a pipe, so it can live in the namespace where code-server listens.
      executablePath = join(profileDir, 'chromium-in-netns.sh');
      writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec '${opts.netns}' '${CHROMIUM}' "$@"\n`);
      chmodSync(executablePath, 0o755);
    }
    const context = await chromium.launchPersistentContext(join(profileDir, 'profile'), {
      executablePath,
      headless: true,
      args: ['--headless', ...CHROMIUM_FLAGS],
      viewport: opts.viewport ?? { width: 1400, height: 1000 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await loadWorkbench(page, url);
    return new Workbench(context, page, profileDir);
  }

  /**
   * Closes the current window (the tab, without beforeunload handlers) and
   * keeps the browser. The page may still tell code-server it is going, which
   * then ends the window's extension host at once (freezeWindow first to
   * prevent that).
   */
  async closeWindow(): Promise<void> {
    await this.currentPage.close({ runBeforeUnload: false });
  }

  /**
   * Freezes the window's page (Chromium's page lifecycle "frozen", as for a
   * tab in the background of a suspended machine): none of its scripts run
   * until it is closed, so the workbench cannot react to anything meanwhile
   * (e.g. restart an extension host that died, or say goodbye to the server
   * when it is closed).
   */
  async freezeWindow(): Promise<void> {
    const cdp = await this.context.newCDPSession(this.currentPage);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await cdp.detach();
  }

  /** A new window (tab) on `url` in the same browser profile; the helpers drive it from now on. */
  async openWindow(url: string): Promise<void> {
    if (!this.currentPage.isClosed()) await this.closeWindow();
    const page = await this.context.newPage();
    this.currentPage = page;
    await loadWorkbench(page, url);
  }

  /** Whether a modal dialog (e.g. the consent dialog) is showing. */
  async dialogVisible(): Promise<boolean> {
    return this.page.locator('.monaco-dialog-box').isVisible();
  }

  /** Texts of the notification toasts showing now. */
  async notificationTexts(): Promise<string[]> {
    return (await this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts()).map((t) => t.trim());
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    rmSync(this.profileDir, { recursive: true, force: true });
  }

  /** Opens the palette with `text` typed in (after the `>` prefix); returns the visible row labels. */
  async paletteRows(text: string): Promise<string[]> {
    await this.openPalette();
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.fill(`>${text}`);
    await this.page.waitForTimeout(300);
    await this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor();
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name').allInnerTexts();
  }

  /** Runs a command by its palette title, e.g. "Telepresence: Connect to Cluster…". */
  async runCommand(title: string): Promise<void> {
    await this.openPalette();
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.fill(`>${title}`);
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: exactText(title) }) }).first();
    await row.waitFor();
    await row.click();
  }

  async closeQuickInput(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden' }).catch(() => undefined);
  }

  /** Waits for a quick pick row whose label matches and accepts it. */
  async pickQuickItem(label: string | RegExp, typeFirst?: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    await widget.waitFor({ state: 'visible' });
    if (typeFirst !== undefined) await widget.locator('.quick-input-box input').fill(typeFirst);
    const row = widget.locator('.quick-input-list .monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: label }) }).first();
    await row.waitFor();
    await row.click();
  }

  /** The status bar entry of the extension (found by its accessible name, which starts with "Telepresence"). */
  statusBarItem(): Locator {
    return this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item').filter({ has: this.page.locator('[aria-label^="Telepresence"]') })
      .or(this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item[aria-label^="Telepresence"]')).first();
  }

  async statusBarText(): Promise<string> {
    return (await this.statusBarItem().innerText()).trim();
  }

  /** Shows a view container (by its activity bar title); clicking an active one would hide the side bar, so that is skipped. */
  async openViewContainer(title: string): Promise<void> {
    const item = this.page.locator('.activitybar .action-item').filter({ has: this.page.locator(`a[aria-label^="${title}"]`) }).first();
    await item.waitFor();
    const active = (await item.getAttribute('class'))?.split(/\s+/).includes('checked') && (await this.page.locator('.sidebar').isVisible());
    if (!active) await item.locator('a').click();
    await this.page.locator('.sidebar .composite.title').filter({ hasText: new RegExp(title, 'i') }).first().waitFor();
  }

  /** A view pane (by its title) in the side bar. */
  pane(title: string): Locator {
    return this.page.locator('.sidebar .pane').filter({ has: this.page.locator('.pane-header', { hasText: title }) }).first();
  }

  /** Labels (with descriptions) of the visible rows of a tree view. */
  async treeRows(paneTitle: string): Promise<Array<{ label: string; description: string; level: number; expanded: string | null }>> {
    const rows = this.pane(paneTitle).locator('.monaco-list-row[role="treeitem"]');
    const n = await rows.count();
    const out = [];
    for (let i = 0; i < n; i++) {
      const r = rows.nth(i);
      out.push({
        // allInnerTexts does not wait: a row without a description must not cost the 30 s default timeout.
        label: ((await r.locator('.label-name').allInnerTexts())[0] ?? '').trim(),
        description: ((await r.locator('.label-description').allInnerTexts())[0] ?? '').trim(),
        level: Number(await r.getAttribute('aria-level')),
        expanded: await r.getAttribute('aria-expanded'),
      });
    }
    return out;
  }

  /** Expands a tree item by its label (no-op when expanded). */
  async expandTreeItem(paneTitle: string, label: string): Promise<void> {
    const row = this.pane(paneTitle).locator('.monaco-list-row[role="treeitem"]').filter({ has: this.page.locator('.label-name', { hasText: exactText(label) }) }).first();
    await row.waitFor();
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
  }

  /** The innermost frame of the webview view whose pane has this title. */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  /** Rows of the VNAT grid as arrays of cell texts (header excluded). */
  async webviewGridRows(): Promise<string[][]> {
    const rows = this.webview().locator('vscode-data-grid-row:not([row-type="header"])');
    const n = await rows.count();
    const out: string[][] = [];
    for (let i = 0; i < n; i++) out.push((await rows.nth(i).locator('vscode-data-grid-cell').allInnerTexts()).map((t) => t.trim()));
    return out;
  }

  /** Text of the "Running Extensions" entry for an extension, e.g. "Activation: 12ms"; undefined when it is not activated. */
  async runningExtensionActivation(displayName: string): Promise<string | undefined> {
    await this.runCommand('Developer: Show Running Extensions');
    const editor = this.page.locator('.runtime-extensions-editor');
    await editor.waitFor();
    // The list fills in asynchronously (later still in a window that was just reloaded).
    const row = editor.locator('.monaco-list-row').filter({ hasText: displayName }).first();
    if (!(await row.waitFor({ timeout: 5000 }).then(() => true, () => false))) return undefined;
    return (await row.locator('.activation-time, .activationTime').first().innerText()).trim();
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const path = join(ARTIFACTS_DIR, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** Right-clicks a tree item by its label and chooses `action` from its context menu. */
  async treeItemAction(paneTitle: string, label: string, action: string): Promise<void> {
    const row = this.pane(paneTitle).locator('.monaco-list-row[role="treeitem"]').filter({ has: this.page.locator('.label-name', { hasText: exactText(label) }) }).first();
    await row.click({ button: 'right' });
    const item = this.page.locator('.context-view .monaco-menu .action-item', { hasText: action }).first();
    await item.waitFor({ timeout: 10_000 });
    // Hovering focuses the item and Enter runs it: VS Code menus act on mouse-up in some
    // builds and on click in others, the keyboard path is the same in all of them.
    await item.hover();
    await this.page.keyboard.press('Enter');
    await this.page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: 5_000 });
  }

  /** Clicks a button of the modal dialog (e.g. the consent dialog). */
  async answerDialog(button: string): Promise<string> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 60_000 });
    const text = await dialog.innerText();
    await dialog.locator('.monaco-button', { hasText: exactText(button) }).first().click();
    return text;
  }

  private async openPalette(): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (await widget.isVisible()) await this.closeQuickInput();
    await this.page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } }).catch(() => undefined);
    await this.page.keyboard.press('F1');
    await widget.waitFor({ state: 'visible' });
  }
}

async function loadWorkbench(page: Page, url: string): Promise<void> {
  page.setDefaultTimeout(30_000);
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  await page.locator('#workbench\\.parts\\.statusbar').waitFor();
  // The workbench keeps restoring its layout for a moment; wait until the activity bar is there.
  await page.locator('.activitybar .action-item').first().waitFor();
}

function exactText(s: string): RegExp {
  return new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
