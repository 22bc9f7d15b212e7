// Module resolution hook (see register.mjs): lets Node's test runner import the compiled extension (lib/)
// and JupyterLab's packages, whose ES modules import relative paths without the ".js" that Node requires
// (bundlers add it).
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export async function resolve(specifier, context, next) {
  if ((specifier.startsWith('./') || specifier.startsWith('../')) && context.parentURL?.startsWith('file:')) {
    const base = fileURLToPath(new URL(specifier, context.parentURL));
    for (const candidate of [base + '.js', base + '/index.js']) {
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        return next(pathToFileURL(candidate).href, context);
      }
    }
  }
  return next(specifier, context);
}
