/**
 * Preloaded with `--import` into a process under test: appends the URL of every module the process
 * loads to the file named by $LOGLOOM_TEST_MODULE_LOG (one per line), so a test can assert what a
 * program does not load (module.registerHooks sees static and dynamic imports, and require).
 */
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.LOGLOOM_TEST_MODULE_LOG;
if (out) {
  registerHooks({
    load(url, context, next) {
      appendFileSync(out, url + '\n');
      return next(url, context);
    },
  });
}
