/** Every `logloom` command, in the order `--help` lists them. Adding one = a file + a line here. */
import type { Command } from '../command.ts';
import { run } from './run.ts';
import { checkConfig } from './check-config.ts';
import { status } from './status.ts';
import { send } from './send.ts';
import { lang } from './lang.ts';
import { demo } from './demo.ts';
import { plugins } from './plugins.ts';
import { keygen } from './keygen.ts';
import { aggregator } from './aggregator.ts';
import { spool } from './spool.ts';
import { tail } from './tail.ts';
import { query } from './query.ts';
import { reload } from './reload.ts';

export const COMMANDS: Command[] = [run, checkConfig, status, reload, send, lang, demo, plugins, keygen, aggregator, spool, tail, query];
