// Copies browser assets from node_modules into static/vendor/ (served from our own origin, never a CDN).
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const target = join(__dirname, '..', 'static', 'vendor');
mkdirSync(target, { recursive: true });
copyFileSync(require.resolve('htmx.org/dist/htmx.min.js'), join(target, 'htmx.min.js'));
// The package's exports hide dist/, so resolve its folder from the main entry (script/index.js).
const webauthnRoot = join(require.resolve('@simplewebauthn/browser'), '..', '..');
copyFileSync(join(webauthnRoot, 'dist', 'bundle', 'index.umd.min.js'), join(target, 'simplewebauthn-browser.min.js'));
