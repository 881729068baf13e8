/**
 * Serves the console's browser app, built by `npm run build` (scripts/build-console.mjs → dist/console-ui):
 * index.html (never cached: it names the current assets) and content-hashed assets (cached for a year, since a
 * new build has new names). Only files the build wrote are served; nothing is fetched from anywhere else.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, Response } from 'express';

/** Where the build puts the app: <package root>/dist/console-ui (from src/ under ts-jest and from dist/). */
export const CONSOLE_UI_DIR = path.resolve(__dirname, '..', '..', 'dist', 'console-ui');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

interface Bundle {
  index: Buffer;
  assets: Map<string, { body: Buffer; type: string }>;
}

/** Reads the built app once; a missing build is reported per request (503) rather than crashing `serve`. */
export function loadBundle(dir = CONSOLE_UI_DIR): Bundle | null {
  const indexFile = path.join(dir, 'index.html');
  if (!existsSync(indexFile)) return null;
  const assets = new Map<string, { body: Buffer; type: string }>();
  const assetDir = path.join(dir, 'assets');
  for (const name of existsSync(assetDir) ? readdirSync(assetDir) : []) {
    const type = TYPES[path.extname(name)];
    if (type) assets.set(name, { body: readFileSync(path.join(assetDir, name)), type });
  }
  return { index: readFileSync(indexFile), assets };
}

export function staticHandlers(dir = CONSOLE_UI_DIR) {
  let bundle: Bundle | null | undefined;
  const current = () => (bundle ??= loadBundle(dir));
  return {
    index(_req: Request, res: Response): void {
      const b = current();
      if (!b) {
        bundle = undefined; // look again next time: the build may still be running
        res.status(503).type('text/plain').send('console UI is not built: run npm run build');
        return;
      }
      res.set('Cache-Control', 'no-store').type('html').send(b.index);
    },
    asset(req: Request, res: Response): void {
      const asset = current()?.assets.get(String(req.params.file));
      if (!asset) {
        res.status(404).type('text/plain').send('not found');
        return;
      }
      // private: the app is behind sign-in, so no shared cache may keep it.
      res.set({ 'Cache-Control': 'private, max-age=31536000, immutable', 'Content-Type': asset.type }).send(asset.body);
    },
  };
}
