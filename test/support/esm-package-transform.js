/**
 * Jest (before Node 24.9) cannot require() an ES-module-only package, which Node 20.19+
 * itself can. This compiles such packages (listed in jest.config.js) to CommonJS for tests.
 */
const ts = require('typescript');

module.exports = {
  process(source, path) {
    const { outputText } = ts.transpileModule(source, {
      fileName: path,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, allowJs: true, esModuleInterop: true },
    });
    return { code: outputText };
  },
};
