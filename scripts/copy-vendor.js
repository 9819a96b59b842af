// Copies browser assets from node_modules into static/vendor/ (served from our own origin, never a CDN).
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const target = join(__dirname, '..', 'static', 'vendor');
mkdirSync(target, { recursive: true });
copyFileSync(require.resolve('htmx.org/dist/htmx.min.js'), join(target, 'htmx.min.js'));
